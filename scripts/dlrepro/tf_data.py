"""The TensorFlow input of :func:`dlrepro.training.fit`: one ``tf.data`` pipeline for all epochs
(the JAX input is :mod:`dlrepro.batches`; both give every epoch the same batches)."""

from __future__ import annotations

import numpy as np

from .batches import epoch_seed


def training_dataset(
    x, y, *, batch_size: int, seed: int, first_epoch: int, epochs: int, shuffle: bool = True
):
    """Batches of ``(x, y)`` for epochs ``first_epoch .. epochs-1``, one ``tf.data`` pipeline.

    The arrays are converted to tensors once; each epoch's order is a stateless shuffle
    seeded by :func:`epoch_seed` ``(seed, epoch)``, so any epoch's batches are the same
    whether the run started at epoch 0 or resumed later.  Every epoch has
    ``ceil(n / batch_size)`` batches (the last one smaller), as ``model.fit`` on arrays.
    The pipeline uses no parallel ``map``: with op determinism on, TensorFlow 2.21
    rewrites parallel maps and logs a ``use_unbounded_threadpool`` error per epoch.
    """
    import tensorflow as tf

    n = len(x)
    seeds = np.array([[epoch_seed(seed, e), 0] for e in range(first_epoch, epochs)], dtype=np.int64)

    def one_epoch(epoch_seeds):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=epoch_seeds)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    batches = tf.data.Dataset.from_tensor_slices(seeds.reshape(-1, 2)).flat_map(one_epoch)
    return _gather(x, y, batches)


def _gather(x, y, batches):
    """``(x[i], y[i])`` for every index batch ``i`` (the arrays become tensors once; a
    sequential ``map``, see :func:`training_dataset`), prefetched.  An ``x`` with a
    ``tf_gather(index)`` method (a streamed patch array) gathers its own batches."""
    import tensorflow as tf

    yt = tf.convert_to_tensor(y)
    if hasattr(x, "tf_gather"):  # windows cut per batch (dlrepro.hyperspectral.streaming)
        return batches.map(lambda i: (x.tf_gather(i), tf.gather(yt, i))).prefetch(tf.data.AUTOTUNE)
    xt = tf.convert_to_tensor(x)
    return batches.map(lambda i: (tf.gather(xt, i), tf.gather(yt, i))).prefetch(tf.data.AUTOTUNE)


def eval_dataset(x, y, batch_size: int):
    """Batches of ``(x, y)`` in order (validation, evaluation), without a parallel ``map``."""
    import tensorflow as tf

    return _gather(x, y, tf.data.Dataset.range(len(x)).batch(batch_size))


def shard_by_data(dataset):
    """Split each global batch across the workers' replicas (not files: there are none)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
