"""The lecture's SI650 model (Embedding -> SpatialDropout1D -> LSTM -> Dense) and its variants."""

from __future__ import annotations

import numpy as np

VARIANTS = ("lstm", "stacked", "bidirectional", "cnn_lstm")


def build_model(
    vocab_size: int,
    maxlen: int = 40,
    embedding_size: int = 128,
    hidden_size: int = 64,
    dropout: float = 0.2,
    learning_rate: float | None = None,
    variant: str = "lstm",
    spatial_dropout: float | None = None,
    recurrent_dropout: float | None = None,
):
    """The lecture's model: Embedding -> SpatialDropout1D -> LSTM -> Dense(1, sigmoid).

    ``variant`` (the lecture's suggestions): ``lstm`` (the lecture's), ``stacked`` (two LSTM
    layers), ``bidirectional`` (a Bidirectional LSTM), ``cnn_lstm`` (Conv1D(64, 5) + max-pool 2
    before the LSTM). ``spatial_dropout`` / ``recurrent_dropout``: None = ``dropout``.
    """
    import keras
    from keras import layers

    if variant not in VARIANTS:
        raise ValueError(f"unknown SI650 model variant {variant!r}; expected one of {VARIANTS}")
    spatial = dropout if spatial_dropout is None else spatial_dropout
    recurrent = dropout if recurrent_dropout is None else recurrent_dropout

    def lstm(**kwargs):
        return layers.LSTM(hidden_size, dropout=dropout, recurrent_dropout=recurrent, **kwargs)

    body = [layers.Embedding(vocab_size, embedding_size), layers.SpatialDropout1D(spatial)]
    if variant == "lstm":
        body.append(lstm())
    elif variant == "stacked":
        body += [lstm(return_sequences=True), lstm()]
    elif variant == "bidirectional":
        body.append(layers.Bidirectional(lstm()))
    else:
        body += [layers.Conv1D(64, 5, padding="same", activation="relu"), layers.MaxPooling1D(2), lstm()]
    model = keras.Sequential(
        [keras.Input(shape=(maxlen,), dtype="int32"), *body, layers.Dense(1, activation="sigmoid")],
        name="si650_lstm" if variant == "lstm" else f"si650_{variant}",
    )
    opt = keras.optimizers.Adam() if learning_rate is None else keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def predict_labels(model, x, batch_size: int = 256) -> np.ndarray:
    """0/1 predictions (probability > 0.5, as Keras' binary accuracy)."""
    prob = model.predict(np.asarray(x), batch_size=batch_size, verbose=0).reshape(-1)
    return (prob > 0.5).astype(np.int8)
