"""Work-arounds for Keras 3 ``model.fit`` under ``tf.distribute.MultiWorkerMirroredStrategy``.

Keras 3 (3.15.1 here, TensorFlow backend) does not run ``model.fit`` in multi-worker mode
(keras-team/keras#20585, tensorflow/tensorflow#72388, both open); two bugs in
``keras/src/backend/tensorflow/trainer.py`` stop it, both in code that only runs when the
strategy is in multi-worker mode:

1. ``TensorFlowTrainer._maybe_symbolic_build`` takes the first distributed batch to build the
   optimizer and metric variables, and turns it into one batch with
   ``strategy.reduce("MEAN", batch, axis=None)``.  For a multi-worker strategy that reduce
   is a collective op that cannot take a nested structure of ``PerReplica`` values:
   ``ValueError: Attempt to convert a value (PerReplica:{...}) ... to a Tensor``.  The batch
   only serves for its shapes, so the patched version takes this worker's first replica's
   part of it instead (no collective op, same shapes, nothing else changes).
2. ``reduce_per_replica(..., reduction="auto")`` (the train step's logs: loss and metric
   values, scalars) maps to ``strategy.reduce("MEAN", v, axis=0)`` in multi-worker mode,
   which fails on a scalar: ``Invalid reduction dimension 0 for input with 0 dimensions``.
   The patched version reduces rank-0 values with ``axis=None`` (the mean over all replicas
   of all workers, what ``MirroredStrategy`` reports on one worker) and leaves the rest to
   Keras.

:func:`patched` applies both for the duration of a ``with`` block, only when the strategy is
a multi-worker one, and restores Keras afterwards; single-worker training never runs the
patched code.  ``tests/test_multiworker.py`` checks that two workers give the same weights
and metrics as one; if a Keras release fixes the bugs, the test still passes with the patch.
"""

from __future__ import annotations

import contextlib


def is_multi_worker(strategy) -> bool:
    if strategy is None:  # JAX: no tf.distribute strategy
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def _first_replica(strategy, structure):
    import tensorflow as tf
    from keras.src import tree

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    return tree.map_structure(local, structure)


@contextlib.contextmanager
def patched(strategy):
    """Patch Keras' TensorFlow trainer for ``strategy`` (a no-op unless multi-worker)."""
    if not is_multi_worker(strategy):
        yield
        return
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = tf_trainer.reduce_per_replica

    def maybe_symbolic_build(self, iterator=None, data_batch=None):  # bug 1
        if self._distribute_strategy is None:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = _first_replica(self.distribute_strategy, next(it))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):  # bug 2
        from keras.src import tree

        if reduction not in ("auto", "mean") or not is_multi_worker(strategy):
            return original_reduce(values, strategy, reduction)

        def reduce(value):
            shape = getattr(strategy.experimental_local_results(value)[0], "shape", None)
            if shape is not None and len(shape) == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original_reduce(value, strategy, reduction)

        return tree.map_structure(reduce, values)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
        tf_trainer.reduce_per_replica = original_reduce
