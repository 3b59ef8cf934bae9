"""Scenes as configuration: declared scenes, a user's scene in every format, no silent fallback
to the Indian Pines stand-in, real Pavia University / Salinas ground truths when present."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from dlrepro import hyperspectral as hs
from dlrepro.acquire import acquire
from dlrepro.datasets import get_spec, known_status, probe_status, stand_in_options
from dlrepro.errors import ConfigError, DataError, DataUnavailableError
from dlrepro.hyperspectral import scene_io, scenes

log = logging.getLogger("test")


def small_scene(fmt: str, **extra) -> dict:
    cube = {"file": "cube.mat", "format": "mat", "key": "cube"}
    if fmt == "npy":
        cube = {"file": "cube.npy", "format": "npy"}
    elif fmt == "envi":
        cube = {"file": "cube.hdr", "format": "envi", "data": "cube.raw"}
    return {
        "title": "test scene",
        "cube": cube,
        "ground_truth": {"file": "gt.npy", "format": "npy"},
        "class_names": ["a", "b", "c"],
        "rows": 40,
        "cols": 36,
        "bands": 12,
        "labelled": 700,
        **extra,
    }


# --------------------------------------------------------------------------- configuration


def test_default_scene_spec_is_unchanged():
    """The lecture's scene: the same files whether scene is absent or 'indian_pines'."""
    a, b = hs.indian_pines_spec({}), hs.indian_pines_spec({"scene": "indian_pines"})
    assert (
        [f.name for f in a.files]
        == [f.name for f in b.files]
        == [
            "Indian_pines_corrected.mat",
            "92AV3GT.GIS",
            "92AV3C.spc",
        ]
    )
    assert a.extra == b.extra and "scene" not in a.extra
    assert hs.indian_pines_spec({"scene": "indian_pines", "ground_truth": "ehu"}).embedded is not None


def test_unknown_scene_is_an_error_naming_the_key():
    with pytest.raises(
        ConfigError, match=r"datasets.indian_pines.scene: 'pavia' is not a scene; known: .*salinas"
    ):
        scenes.get_scene("pavia", {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cube": {"file": "c.bin", "format": "raw"}}, r"scenes.s.cube.format: 'raw'"),
        ({"cube": {"file": "c.hdr", "format": "envi"}}, r"scenes.s.cube.data: the ENVI binary"),
        ({"class_names": ["only"]}, r"scenes.s.class_names"),
        ({"drop_bands": [0]}, r"scenes.s.drop_bands"),
        ({"rows": -3}, r"scenes.s.rows: -3"),
        ({"colour": 1}, r"scenes.s.colour: unknown key"),
    ],
)
def test_bad_scene_definitions_refused_in_one_line(change, message):
    with pytest.raises(ConfigError, match=message):
        scenes.check_scene_config({"scenes": {"s": {**small_scene("npy"), **change}}})


def test_builtin_scene_names_cannot_be_redefined():
    with pytest.raises(ConfigError, match="scenes.salinas: salinas is a built-in scene"):
        scenes.check_scene_config({"scenes": {"salinas": small_scene("npy")}})


def test_declared_scenes_have_their_real_sizes():
    pu, sa = scenes.get_scene("pavia_university"), scenes.get_scene("salinas")
    assert (pu["rows"], pu["cols"], pu["bands"], len(pu["class_names"])) == (610, 340, 103, 9)
    assert (sa["rows"], sa["cols"], sa["bands"], len(sa["class_names"])) == (512, 217, 204, 16)
    full = scenes.get_scene("indian_pines_full")
    assert full["classes"] == 58 and "purr.purdue.edu" in full["cube"]["url"]


def test_another_scene_never_falls_back_to_the_indian_pines_stand_in():
    spec = get_spec("indian_pines", {"scene": "pavia_university"})
    assert spec.embedded is None and stand_in_options("indian_pines", "auto", spec) is None
    status = known_status("indian_pines", "embedded", {"scene": "salinas"})
    assert status["available"] is False and "no embedded copy" in status["reason"]


def test_full_indian_pines_is_data_unavailable_with_its_source(tmp_path):
    status = probe_status("indian_pines", "auto", {"scene": "indian_pines_full"}, mirror=str(tmp_path))
    assert status["available"] is False
    assert "19920612_AVIRIS_IndianPine_NS-line.tif" in status["reason"]
    assert "doi:10.4231/R7RX991C" in status["reason"]


# --------------------------------------------------------------------------- formats, synthetic


@pytest.mark.parametrize("fmt", ["mat", "npy", "envi"])
def test_user_scene_synthetic_round_trip_in_every_format(fmt, tmp_path):
    scene = small_scene(fmt, drop_bands=[1, 5])
    spec = get_spec("indian_pines", {"scene": "mine", "scenes": {"mine": scene}})
    manifest = acquire(spec, tmp_path, source="synthetic", synthetic_options={"seed": 3}, logger=log)
    assert manifest["label"] == "synthetic"
    ds = scene_io.scene_cube_dataset(tmp_path, manifest, "mine", scenes.check_scene(scene, "s"), log)
    assert dict(ds.radiance.sizes) == {"y": 40, "x": 36, "band": 12}
    assert ds.band.values.tolist() == [b for b in range(1, 15) if b not in (1, 5)]
    assert int((ds.ground_truth.values > 0).sum()) == 700 and ds.attrs["n_labelled"] == 700
    assert ds.attrs["scene"] == "mine" and ds.attrs["source_label"] == "synthetic"
    assert [str(v) for v in ds.class_name.values] == ["Synthetic a", "Synthetic b", "Synthetic c"]
    full = scene_io.read_scene_array(tmp_path, scene["cube"], 3)
    np.testing.assert_array_equal(ds.radiance.values, full[:, :, [b - 1 for b in ds.band.values]])


def test_user_scene_from_own_files_is_labelled_user(tmp_path):
    scene = small_scene("npy")
    mine = tmp_path / "mine"
    mine.mkdir()
    gt = scene_io.synthetic_ground_truth(40, 36, 3, 500)
    np.save(mine / "gt.npy", gt)
    np.save(mine / "cube.npy", scene_io.synthetic_cube(gt, 12))
    spec = get_spec("indian_pines", {"scene": "mine", "scenes": {"mine": scene}})
    manifest = acquire(spec, tmp_path / "res", source="user", user_path=mine, logger=log)
    ds = scene_io.scene_cube_dataset(tmp_path / "res", manifest, "mine", scene, log)
    assert ds.attrs["source_label"] == "user" and [str(v) for v in ds.class_name.values] == ["a", "b", "c"]


def test_declared_size_mismatch_is_one_line(tmp_path):
    scene = small_scene("npy")
    np.save(tmp_path / "gt.npy", scene_io.synthetic_ground_truth(30, 36, 3, 100))
    np.save(tmp_path / "cube.npy", np.ones((30, 36, 12), dtype=np.int16))
    manifest = acquire(
        get_spec("indian_pines", {"scene": "m", "scenes": {"m": scene}}),
        tmp_path / "r",
        source="user",
        user_path=tmp_path,
    )
    with pytest.raises(DataError, match=r"cube.npy: 30 rows, scene m declares rows: 40"):
        scene_io.scene_cube_dataset(tmp_path / "r", manifest, "m", scene, log)


def test_synthetic_pavia_university_has_its_real_size(tmp_path):
    spec = get_spec("indian_pines", {"scene": "pavia_university"})
    manifest = acquire(spec, tmp_path, source="synthetic", synthetic_options={"seed": 0}, logger=log)
    ds = scene_io.scene_cube_dataset(
        tmp_path, manifest, "pavia_university", scenes.get_scene("pavia_university"), log
    )
    assert dict(ds.radiance.sizes) == {"y": 610, "x": 340, "band": 103}
    assert ds.sizes["class_id"] == 9 and ds.attrs["n_labelled"] == 42776


# --------------------------------------------------------------------------- real ground truths


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "shape", "labelled"), [("pavia_university", (610, 340), 42776), ("salinas", (512, 217), 54129)]
)
def test_real_ground_truths_verify_and_the_cube_is_unavailable(shared_data, name, shape, labelled, tmp_path):
    """The real ground truth passes its sha256; the cube, not obtainable offline, makes the
    scene data unavailable (never a stand-in); with a synthetic cube of the real size the
    real ground truth converts."""
    spec = get_spec("indian_pines", {"scene": name})
    with pytest.raises(DataUnavailableError, match=spec.files[0].name):
        acquire(spec, tmp_path / "a", source="mirror", mirror=str(shared_data), logger=log)
    scene = scenes.get_scene(name)
    gt_file = scene["ground_truth"]["file"]
    gt = scene_io.read_scene_array(shared_data / name, scene["ground_truth"], 2)
    assert gt.shape == shape and int((gt > 0).sum()) == labelled
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(shared_data / name / gt_file, mine / gt_file)
    scene_io.write_array(mine, scene["cube"], scene_io.synthetic_cube(gt, scene["bands"]))
    manifest = acquire(spec, tmp_path / "b", source="user", user_path=mine, logger=log)
    assert manifest["files"][gt_file]["canonical"] is True
    ds = scene_io.scene_cube_dataset(tmp_path / "b", manifest, name, scene, log)
    assert ds.attrs["n_labelled"] == labelled and ds.sizes["class_id"] == len(scene["class_names"])


# --------------------------------------------------------------------------- tables


def _run(split="random", **extra):
    return {
        "split": split,
        "seed": 1,
        "accuracy": 0.5,
        "average_accuracy": 0.4,
        "kappa": 0.3,
        "epochs": 3,
        "epochs_requested": 600,
        "source_label": "synthetic",
        "bands": 103,
        "ground_truth": "g",
        "n_train": 10,
        "n_test": 90,
        "parameters": 1,
        **extra,
    }


def test_another_scene_gets_no_lecture_figure_and_says_its_scene():
    df, notes = hs.indian_pines_table([_run(scene="my_pavia")])
    assert df.loc[0, "scene"] == "my_pavia" and df.loc[0, "lecture_oa"] is None
    assert any("not the lecture's Indian Pines scene" in n for n in notes)
    # the lecture's, the disjoint split's and the EHU cube's notes say nothing about this scene
    assert not any(n.startswith(("Lecture:", "disjoint: spatially", "bands 200")) for n in notes), notes
    default, default_notes = hs.indian_pines_table([_run(bands=200), _run("disjoint", bands=200)])
    assert "scene" not in default.columns and default.loc[0, "lecture_oa"] is not None
    marks = ("Lecture: OA", "disjoint: spatially", "bands 200: the EHU")
    assert [m for m in marks if any(n.startswith(m) for n in default_notes)] == list(marks), default_notes


def test_reproduction_never_judges_another_scene_against_the_lecture():
    from dlrepro.report.reproduction import _group_runs

    out = _group_runs({"indian_pines": [_run(scene="salinas", source_label="real")]})
    assert ("indian_pines", ("random",)) not in out and ("indian_pines", ("scene salinas, random",)) in out


def test_lecture_figure_of_another_scene_says_which_scene_is_configured():
    from dlrepro.report.reproduction import reproduction_table

    on = {"mnist": False, "sentiment": False, "indian_pines": True}
    df, _ = reproduction_table({"indian_pines": [_run(scene="salinas")]}, {}, on)
    lecture = df[(df.experiment == "Indian Pines") & (df.lecture_pct.notna())]
    assert lecture.ours_pct.tolist() == ["not run (scene salinas configured)"], lecture.ours_pct.tolist()
    df, _ = reproduction_table({"indian_pines": []}, {}, on)
    lecture = df[(df.experiment == "Indian Pines") & (df.lecture_pct.notna())]
    assert lecture.ours_pct.tolist() == ["not run (not in the configuration)"]


def test_docs_scene_example_is_a_valid_configuration():
    import re

    import yaml

    from conftest import REPO
    from dlrepro.config import check_config, coerce_config

    section = (REPO / "docs" / "data.md").read_text().split("## Scenes", 1)[1].split("\n## ", 1)[0]
    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"]["indian_pines"].update(example["datasets"]["indian_pines"])
    config["scenes"] = example["scenes"]
    schema = REPO / "schemas" / "config.schema.yaml"
    coerce_config(config, schema)
    check_config(config, schema)
    scenes.check_scene_config(config)
    assert scenes.get_scene("my_scene", config["scenes"])["cube"]["format"] == "envi"
