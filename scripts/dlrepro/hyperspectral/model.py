"""The lecture's 3-D CNN, one-hot targets, whole-scene prediction."""

from __future__ import annotations

import numpy as np

from .preprocessing import extract_patches, pad_cube


def build_model(
    n_bands: int,
    n_classes: int,
    window: int = 9,
    learning_rate: float = 1.0,
    decay: float = 5e-6,
    compile_model: bool = True,
    loss: str = "mse",
    optimizer: str = "sgd",
):
    """The lecture's 3-D CNN on ``(window, window, n_bands, 1)`` patches.

    SGD with Keras 2's ``decay`` reproduced by ``InverseTimeDecay(lr, decay_steps=1,
    decay_rate=decay)`` (``lr / (1 + decay * iterations)``), MSE on one-hot targets.
    578,544 parameters for 220 bands and 16 classes. ``loss``: mse (the lecture's) or
    categorical_crossentropy; ``optimizer``: sgd (the lecture's), rmsprop or adam, with the
    same learning rate and decay schedule.
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(window, window, n_bands, 1)),
            layers.Conv3D(48, (3, 3, 5), activation="relu"),
            layers.MaxPooling3D((1, 1, 3)),
            layers.ZeroPadding3D((0, 0, 2)),
            layers.Conv3D(32, (3, 3, 5), activation="relu"),
            layers.MaxPooling3D((1, 1, 3)),
            layers.ZeroPadding3D((0, 0, 2)),
            layers.Conv3D(32, (3, 3, 5), activation="relu"),
            layers.MaxPooling3D((1, 1, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="indian_pines_3dcnn",
    )
    if compile_model:
        lr = (
            keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=decay)
            if decay
            else learning_rate
        )
        optimizers = {
            "sgd": keras.optimizers.SGD,
            "rmsprop": keras.optimizers.RMSprop,
            "adam": keras.optimizers.Adam,
        }
        losses = {"mse": "mean_squared_error", "categorical_crossentropy": "categorical_crossentropy"}
        model.compile(
            optimizer=optimizers[optimizer](learning_rate=lr),
            loss=losses[loss],
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
    return model


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """1-based class ids -> float32 one-hot rows."""
    return np.eye(n_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64) - 1]


def predict_scene(
    model, normalised_cube: np.ndarray, window: int, padding: str, batch: int = 1024
) -> np.ndarray:
    """Predicted class id (1-based) of every pixel, patches extracted ``batch`` at a time."""
    padded = pad_cube(normalised_cube.astype(np.float32, copy=False), window // 2, padding)
    h, w = normalised_cube.shape[:2]
    rows, cols = np.divmod(np.arange(h * w), w)
    out = np.empty(h * w, dtype=np.uint8)
    for start in range(0, h * w, batch):
        sl = slice(start, start + batch)
        x = extract_patches(padded, rows[sl], cols[sl], window)[..., None]
        out[sl] = model.predict(x, batch_size=256, verbose=0).argmax(axis=1) + 1
    return out.reshape(h, w)
