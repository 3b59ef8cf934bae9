"""The resumable training loop: bit-exact resume, fingerprint guard, history."""

import numpy as np
import pytest

from dlrepro import training


def _build():
    import keras

    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    return x, y


def test_resume_equals_uninterrupted_run(tmp_path, data):
    x, y = data
    full, hist_full = training.fit(_build, x, y, epochs=4, batch_size=32, seed=5, workdir=tmp_path / "a")
    _, part = training.fit(
        _build, x, y, epochs=4, batch_size=32, seed=5, workdir=tmp_path / "b", stop_after=2
    )
    assert len(part) == 2
    resumed, hist_resumed = training.fit(
        _build, x, y, epochs=4, batch_size=32, seed=5, workdir=tmp_path / "b"
    )
    assert [h["epoch"] for h in hist_resumed] == [1, 2, 3, 4]
    assert [h["loss"] for h in hist_resumed] == [h["loss"] for h in hist_full]
    for a, b in zip(full.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_differ(tmp_path, data):
    x, y = data
    a, _ = training.fit(_build, x, y, epochs=1, batch_size=32, seed=1, workdir=tmp_path / "a")
    b, _ = training.fit(_build, x, y, epochs=1, batch_size=32, seed=2, workdir=tmp_path / "b")
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path, data, caplog):
    x, y = data
    training.fit(_build, x, y, epochs=3, batch_size=32, seed=5, workdir=tmp_path / "c", stop_after=1)
    _, hist = training.fit(_build, x, y, epochs=3, batch_size=16, seed=5, workdir=tmp_path / "c")
    assert "other settings" in caplog.text
    assert [h["epoch"] for h in hist] == [1, 2, 3]


def test_epoch_seed_depends_on_seed_and_epoch():
    assert training.epoch_seed(1, 0) == training.epoch_seed(1, 0)
    assert len({training.epoch_seed(s, e) for s in range(3) for e in range(3)}) == 9
