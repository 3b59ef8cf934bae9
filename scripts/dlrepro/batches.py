"""Each epoch's order of batches, and the training input on the JAX backend (no TensorFlow).

:func:`dlrepro.training.fit` still makes **one** ``model.fit`` call with its callbacks; on
JAX it feeds it index blocks instead of a ``tf.data`` pipeline:

* the training arrays are put on the device once (:func:`attach`);
* each epoch's order is a permutation seeded by ``epoch_seed(seed, epoch)`` alone, so an
  epoch's batches are the same whether the run started at epoch 0 or resumed later;
* the full batches of an epoch travel as one ``(steps, batch)`` block of indices, the last,
  smaller batch (``model.fit`` on arrays has ``ceil(n / batch)`` of them) as a ``(1, rest)``
  block; one compiled call (``jax.lax.scan`` over Keras' own ``train_step``) trains a block,
  so an epoch costs one or two dispatches instead of one per batch (the per-step overhead
  that dominates these small models on a GPU), and the history stays per epoch.

That is how JAX runs on a GPU.  On the CPU (no dispatch cost worth saving, and XLA:CPU
compiles convolutions inside a loop far slower than alone), and for arrays that should not
be copied to the device whole (a streamed patch array larger than :data:`DEVICE_BYTES`, or a
``keras.distribution`` over several devices), batches are fed one by one from the host by
:func:`host_batches`, in the same order.  ``DLREPRO_JAX_FEED=device|host`` forces one way
(the tests run both on the CPU).
"""

from __future__ import annotations

import os

import numpy as np

from .errors import ConfigError

#: largest training set (bytes of x) copied to the device whole; larger ones are fed per batch
DEVICE_BYTES = 4 * 2**30
#: validation batch on JAX (one compiled call per batch: fewer, larger ones; the loss and
#: metrics are means over samples, whatever the batch)
EVAL_BATCH = 1024


def as_array(a) -> np.ndarray:
    """``a`` as a NumPy array (a streamed patch array is gathered whole)."""
    return a if isinstance(a, np.ndarray) else np.asarray(a[np.arange(len(a))])


def epoch_seed(seed: int, epoch: int) -> int:
    """A 31-bit seed that depends only on the run seed and the epoch."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0] & 0x7FFFFFFF)


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The order of the ``n`` training samples in ``epoch`` (int32)."""
    if not shuffle:
        return np.arange(n, dtype=np.int32)
    return np.random.default_rng(epoch_seed(seed, epoch)).permutation(n).astype(np.int32)


def blocks_per_epoch(n: int, batch_size: int) -> int:
    """``model.fit`` steps per epoch of :func:`index_blocks`: full batches, then the rest."""
    return int(n >= batch_size) + int(n % batch_size > 0)


def index_blocks(n: int, *, batch_size: int, seed: int, first_epoch: int, epochs: int, shuffle: bool = True):
    """For each epoch ``first_epoch .. epochs-1``: ``((steps, batch_size) int32,)``, then the
    last smaller batch as ``((1, rest),)`` when ``batch_size`` does not divide ``n``."""
    full = n // batch_size * batch_size
    for epoch in range(first_epoch, epochs):
        order = epoch_order(n, seed, epoch, shuffle)
        if full:
            yield (order[:full].reshape(-1, batch_size),)
        if full < n:
            yield (order[full:].reshape(1, -1),)


def host_batches(x, y, *, batch_size: int, seed: int, first_epoch: int, epochs: int, shuffle: bool = True):
    """``(x[i], y[i])`` per batch, in the order of :func:`index_blocks` (gathered on the host)."""
    for (block,) in index_blocks(
        len(x), batch_size=batch_size, seed=seed, first_epoch=first_epoch, epochs=epochs, shuffle=shuffle
    ):
        for index in block:
            yield np.asarray(x[index]), np.asarray(y[index])


FEED_ENV = "DLREPRO_JAX_FEED"


def on_device(x) -> bool:
    """Whether ``x`` is copied to the device whole and trained on in blocks (module doc)."""
    import jax
    import keras

    forced = os.environ.get(FEED_ENV, "")
    if forced not in ("", "device", "host"):
        raise ConfigError(f"environment variable {FEED_ENV}: {forced!r}, expected device or host")
    if keras.distribution.distribution() is not None:
        return False
    if forced:
        return forced == "device"
    if jax.default_backend() == "cpu":
        return False
    nbytes = int(np.prod(x.shape, dtype=np.int64)) * 4
    return nbytes <= DEVICE_BYTES


def attach(model, x, y) -> None:
    """Make ``model.fit`` train on index blocks of the device copies of ``x`` and ``y``.

    Builds the model's loss, metrics and optimizer on one real batch first (``fit`` would
    otherwise build them from an index block), then replaces the train function Keras would
    make (one jitted ``train_step``) by one that scans a block's batches."""
    import jax
    import jax.numpy as jnp

    x, y = as_array(x), as_array(y)
    model._symbolic_build(data_batch=(x[:1], y[:1]))
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    xd, yd = jax.device_put(x), jax.device_put(y)
    step = model.train_step

    def train_block(state, index, xd, yd):
        def one(state, i):
            logs, state = step(state, (jnp.take(xd, i, axis=0), jnp.take(yd, i, axis=0)))
            return state, logs

        state, logs = jax.lax.scan(one, state, index)
        return jax.tree_util.tree_map(lambda v: v[-1], logs), state

    compiled = jax.jit(train_block, donate_argnums=0)

    def train_function(state, iterator):
        data = next(iterator)
        index = data[0] if isinstance(data, (tuple, list)) else data
        return compiled(state, index, xd, yd)

    model.train_function = train_function
