"""The resumable training loop: bit-exact resume, fingerprint guard, history."""

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dlrepro import training

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


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


def test_same_seed_gives_the_same_weights(tmp_path, data):
    x, y = data
    a, hist_a = training.fit(_build, x, y, epochs=2, batch_size=32, seed=7, workdir=tmp_path / "a")
    b, hist_b = training.fit(_build, x, y, epochs=2, batch_size=32, seed=7, workdir=tmp_path / "b")
    assert [h["loss"] for h in hist_a] == [h["loss"] for h in hist_b]
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


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


def test_fault_injection_is_scoped_to_a_checkpoint_directory():
    """DLREPRO_FAULT: one fault per training (the Slurm test pauses one per experiment)."""
    spec = "PAUSE@1:mnist, SIGTERM@2:results/sentiment/, SIGKILL@3"
    assert training.fault_for(spec, "results/mnist/lenet/e20/seed1/checkpoints", 1) == "PAUSE"
    assert training.fault_for(spec, "results/mnist/lenet/e20/seed1/checkpoints", 2) is None
    assert training.fault_for(spec, "results/sentiment/split/seed1/checkpoints", 2) == "SIGTERM"
    assert training.fault_for(spec, "results/indian_pines/split/seed1/checkpoints", 1) is None
    assert training.fault_for(spec, "results/indian_pines/split/seed1/checkpoints", 3) == "SIGKILL"
    assert training.fault_for("", "anything", 1) is None
    assert training.fault_for("SIGTERM@x", "anything", 1) is None


def test_sigterm_checkpoints_then_resume_is_bit_exact(tmp_path, data, monkeypatch):
    x, y = data
    full, hist_full = training.fit(_build, x, y, epochs=4, batch_size=32, seed=5, workdir=tmp_path / "a")
    monkeypatch.setenv(training.FAULT_ENV, "SIGTERM@2")  # the process signals itself after epoch 2
    with pytest.raises(training.TrainingInterrupted, match="stopped by SIGTERM after epoch 2 of 4"):
        training.fit(_build, x, y, epochs=4, batch_size=32, seed=5, workdir=tmp_path / "b")
    monkeypatch.delenv(training.FAULT_ENV)
    state = training.read_json(tmp_path / "b" / training.STATE_FILE)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    resumed, hist = training.fit(_build, x, y, epochs=4, batch_size=32, seed=5, workdir=tmp_path / "b")
    assert [h["loss"] for h in hist] == [h["loss"] for h in hist_full]
    for a, b in zip(full.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _truncate(path: Path, keep: int = 100) -> None:
    """What a crash of the file system or a full quota leaves: the first bytes only."""
    path.write_bytes(path.read_bytes()[:keep])


def _assert_same_run(model, hist, full, hist_full):
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    for key in ("loss", "accuracy"):
        assert [h[key] for h in hist] == [h[key] for h in hist_full]
    for a, b in zip(full.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_truncated_newest_checkpoint_resumes_from_the_previous_one(tmp_path, data, caplog):
    """Two checkpoints are kept; the newest one truncated is set aside (one warning line) and
    the job resumes from the one before, bit for bit the uninterrupted run."""
    x, y = data
    kw = {"epochs": 4, "batch_size": 32, "seed": 5, "checkpoint_seconds": None}
    full, hist_full = training.fit(_build, x, y, workdir=tmp_path / "a", **kw)
    work = tmp_path / "b"
    training.fit(_build, x, y, workdir=work, checkpoint_epochs=1, stop_after=3, **kw)
    assert sorted(p.name for p in work.glob("*.keras")) == [
        "checkpoint-00002.keras",
        "checkpoint-00003.keras",
    ]
    state = training.read_json(work / training.STATE_FILE)
    assert state["epoch"] == 3 and [e["epoch"] for e in state["previous"]] == [2]
    assert len(state["previous"][0]["history"]) == 2
    _truncate(work / "checkpoint-00003.keras")
    caplog.clear()
    with caplog.at_level("INFO", logger="dlrepro"):
        model, hist = training.fit(_build, x, y, workdir=work, checkpoint_epochs=1, **kw)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"{work / 'checkpoint-00003.keras'}: unreadable checkpoint (")
    assert warnings[0].endswith(
        "; set aside as checkpoint-00003.keras.corrupt, resuming from checkpoint-00002.keras (epoch 2)"
    )
    assert (work / "checkpoint-00003.keras.corrupt").stat().st_size == 100
    assert "resuming from" in caplog.text and "after epoch 2 of 4" in caplog.text
    _assert_same_run(model, hist, full, hist_full)


def test_only_checkpoint_corrupt_starts_afresh(tmp_path, data, caplog):
    """The only checkpoint (an old single-checkpoint state.json) unreadable: set aside, one
    warning line, training starts afresh and still equals the uninterrupted run."""
    x, y = data
    kw = {"epochs": 4, "batch_size": 32, "seed": 5, "checkpoint_seconds": None}
    full, hist_full = training.fit(_build, x, y, workdir=tmp_path / "a", **kw)
    work = tmp_path / "b"
    training.fit(_build, x, y, workdir=work, checkpoint_epochs=1, stop_after=1, **kw)
    state = training.read_json(work / training.STATE_FILE)
    assert state["epoch"] == 1 and state["previous"] == []
    del state["previous"]  # the format of a single checkpoint (before two were kept)
    training.write_json(state, work / training.STATE_FILE)
    _truncate(work / "checkpoint-00001.keras")
    caplog.clear()
    with caplog.at_level("WARNING", logger="dlrepro"):
        model, hist = training.fit(_build, x, y, workdir=work, **kw)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"{work / 'checkpoint-00001.keras'}: unreadable checkpoint (not a whole .keras zip archive, 100 bytes: "
        "File is not a zip file); set aside as checkpoint-00001.keras.corrupt, starting afresh"
    ]
    assert not (work / "checkpoint-00001.keras").exists()
    assert (work / "checkpoint-00001.keras.corrupt").is_file()
    _assert_same_run(model, hist, full, hist_full)


def test_old_single_checkpoint_state_still_resumes(tmp_path, data):
    x, y = data
    kw = {"epochs": 4, "batch_size": 32, "seed": 5, "checkpoint_seconds": None}
    full, hist_full = training.fit(_build, x, y, workdir=tmp_path / "a", **kw)
    work = tmp_path / "b"
    training.fit(_build, x, y, workdir=work, stop_after=2, **kw)
    state = training.read_json(work / training.STATE_FILE)
    del state["previous"]
    training.write_json(state, work / training.STATE_FILE)
    model, hist = training.fit(_build, x, y, workdir=work, **kw)
    _assert_same_run(model, hist, full, hist_full)


def test_unreadable_state_file_starts_afresh(tmp_path, data, caplog):
    x, y = data
    work = tmp_path / "b"
    training.fit(_build, x, y, epochs=2, batch_size=32, seed=5, workdir=work, stop_after=1)
    _truncate(work / training.STATE_FILE, keep=20)
    with caplog.at_level("WARNING", logger="dlrepro"):
        _, hist = training.fit(_build, x, y, epochs=2, batch_size=32, seed=5, workdir=work)
    assert "state.json: unreadable checkpoint state (" in caplog.text
    assert "set aside as state.json.corrupt, starting afresh" in caplog.text
    assert [h["epoch"] for h in hist] == [1, 2]


def test_one_model_fit_call_and_checkpoints_only_when_due(tmp_path, data):
    import keras

    x, y = data
    calls, seen = [], []

    def build():
        model = _build()
        original = model.fit
        model.fit = lambda *a, **k: calls.append(k.get("epochs")) or original(*a, **k)
        return model

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((tmp_path / training.STATE_FILE).exists())

    _, hist = training.fit(
        build,
        x,
        y,
        epochs=5,
        batch_size=32,
        seed=1,
        workdir=tmp_path,
        callbacks=[Watch()],
        checkpoint_seconds=None,
        checkpoint_epochs=2,
    )
    assert calls == [5] and len(hist) == 5
    # the training's own callback runs first: a checkpoint exists from epoch 2 on, never earlier
    assert seen == [False, True, True, True, True]
    assert training.read_json(tmp_path / training.STATE_FILE)["epoch"] == 4


def test_batches_per_epoch_and_order_depend_only_on_seed_and_epoch():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10)

    def epoch_orders(first):
        ds = training.training_dataset(x, y, batch_size=4, seed=3, first_epoch=first, epochs=3)
        batches = [b[1].numpy().tolist() for b in ds]
        return [sum(batches[i : i + 3], []) for i in range(0, len(batches), 3)], [len(b) for b in batches]

    orders, sizes = epoch_orders(0)
    assert sizes == [4, 4, 2] * 3
    assert all(sorted(o) == list(range(10)) for o in orders) and orders[0] != orders[1]
    assert epoch_orders(1)[0] == orders[1:]


def test_precision_refusals_are_one_line(monkeypatch):
    from dlrepro.errors import ConfigError

    training.check_precision("float32", gpus=0)
    training.check_precision("mixed_float16", gpus=1)
    with pytest.raises(ConfigError, match="mixed_float16 needs a GPU"):
        training.check_precision("mixed_float16", gpus=0)
    monkeypatch.setattr(training, "cpu_flags", lambda: {"avx2", "fma"})
    with pytest.raises(ConfigError, match="needs a GPU or a CPU with AVX512-BF16"):
        training.check_precision("mixed_bfloat16", gpus=0)
    monkeypatch.setattr(training, "cpu_flags", lambda: {"avx512_bf16"})
    training.check_precision("mixed_bfloat16", gpus=0)
    with pytest.raises(ConfigError, match="training.precision"):
        training.check_precision("float8", gpus=0)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="oneDNN switch is for x86 CPUs")
def test_onednn_is_active_and_training_logs_no_tf_data_error(tmp_path):
    """In a fresh process with TensorFlow's default logging: importing dlrepro turns oneDNN on
    (whatever TensorFlow detects on this CPU), and a training logs no use_unbounded_threadpool
    error (the tf.data rewrite under op determinism that Keras' array adapter triggers)."""
    code = textwrap.dedent(
        """
        import numpy as np
        from dlrepro import training
        from tensorflow.python.util import _pywrap_util_port
        import keras
        def build():
            m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
            m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return m
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        y = (x[:, 0] > 0).astype(int)
        training.fit(build, x, y, epochs=2, batch_size=16, seed=1, workdir="w", validation_data=(x, y))
        print("ONEDNN", _pywrap_util_port.IsMklEnabled())
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")}
    env["PYTHONPATH"] = str(SCRIPTS)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ONEDNN True" in proc.stdout
    assert "use_unbounded_threadpool" not in proc.stderr
    assert "NodeDef mentions attribute" not in proc.stderr
