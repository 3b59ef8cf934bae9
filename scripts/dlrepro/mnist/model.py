"""The lecture's MNIST models: perceptron, MLP and LeNet."""

from __future__ import annotations

MODELS = ("perceptron", "mlp", "lenet")


def build_model(
    name: str,
    optimizer: str,
    learning_rate: float | None = None,
    input_shape=(28, 28),
    hidden: list[int] | None = None,
):
    """The lecture's models, compiled with categorical cross-entropy on sparse labels.

    ``optimizer``: sgd, rmsprop or adam (the lecture's imports); ``hidden``: the MLP's hidden
    layer sizes (None: the lecture's 128, 128).
    """
    import keras
    from keras import layers

    if name not in MODELS:
        raise ValueError(f"unknown MNIST model {name!r}; expected one of {MODELS}")
    if hidden is not None and name != "mlp":
        raise ValueError(f"hidden layer sizes apply to the mlp model only, not {name!r}")
    if name == "perceptron":
        body = [layers.Flatten(), layers.Dense(10, activation="softmax")]
    elif name == "mlp":
        sizes = [128, 128] if hidden is None else list(hidden)
        body = [
            layers.Flatten(),
            *(layers.Dense(int(units), activation="relu") for units in sizes),
            layers.Dense(10, activation="softmax"),
        ]
    else:  # lenet
        body = [
            layers.Reshape((*input_shape, 1)),
            layers.Conv2D(20, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2, strides=2),
            layers.Conv2D(50, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2, strides=2),
            layers.Flatten(),
            layers.Dense(500, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    model = keras.Sequential([keras.Input(shape=input_shape), *body], name=name)

    optimizers = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
    }
    opt_cls = optimizers[optimizer]
    opt = opt_cls() if learning_rate is None else opt_cls(learning_rate=learning_rate)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
