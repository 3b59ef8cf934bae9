"""Any hyperspectral scene as configuration: files, formats, classes, bands to drop.

``datasets.indian_pines.scene`` chooses the scene of the hyperspectral experiment:
``indian_pines`` (the default: the lecture's 145 x 145 scene, with the ``bands`` /
``ground_truth`` options and every check of :mod:`.sources`/:mod:`.readers`, unchanged), a
declared scene of :data:`DECLARED` or any name under the config's ``scenes:`` block, which has
the same form as the declared ones::

    scenes:
      my_scene:
        title: My scene
        cube: {file: cube.hdr, format: envi, data: cube.raw}     # or mat (key:), npy, erdas
        ground_truth: {file: gt.npy, format: npy}
        class_names: [Water, Trees, ...]                         # class ids 1..n
        drop_bands: [1, 2]                                       # 1-based, removed after reading
        rows: 600   # expected size (optional; the synthetic source needs rows, cols, bands)
        cols: 400
        bands: 100
        labelled: 5000   # synthetic source: labelled pixels of the generated ground truth

A file entry may carry ``url``, ``sha256`` and ``git_blob`` (the acquisition verifies them);
without a checksum a file is only taken from ``source: user`` (``datasets.indian_pines.path``,
a directory holding the files under their names) and labelled *user*.  A scene whose files
cannot be had makes the experiment's rows say *not run - data unavailable* (never the Indian
Pines stand-in); ``source: synthetic`` generates a cube and ground truth of the scene's size
in its declared formats (rows labelled *synthetic*).
"""

from __future__ import annotations

import logging

from ..errors import ConfigError

log = logging.getLogger("dlrepro")

DEFAULT_SCENE = "indian_pines"
FORMATS = ("mat", "npy", "envi", "erdas", "tiff")
EHU = "http://www.ehu.eus/ccwintco/uploads/"
EHU_CITATION = "EHU Grupo de Inteligencia Computacional, Hyperspectral Remote Sensing Scenes"

DECLARED: dict[str, dict] = {
    "indian_pines_full": {
        "title": "AVIRIS Indian Pines, full NS-line flight (12 June 1992; the lecture's 58-class scene)",
        "cube": {
            "file": "19920612_AVIRIS_IndianPine_NS-line.tif",
            "format": "tiff",
            "url": "https://purr.purdue.edu/publications/1947/serve/1?render=archive",
        },
        "ground_truth": {
            "file": "19920612_AVIRIS_IndianPine_NS-line_gr.tif",
            "format": "tiff",
            "url": "https://purr.purdue.edu/publications/1947/serve/1?render=archive",
        },
        "classes": 58,
        "bands": 220,
        "citation": (
            "Baumgardner, Biehl, Landgrebe (2015): 220 Band AVIRIS Hyperspectral Image Data Set: June 12, 1992 "
            "Indian Pine Test Site 3, Purdue University Research Repository, doi:10.4231/R7RX991C (CC0)"
        ),
        "how_to_get": (
            "download the PURR archive (doi:10.4231/R7RX991C, needs a browser session), convert the NS-line cube "
            "and ground truth to .npy and declare them as your own scene (docs/data.md: Scenes)"
        ),
    },
    "pavia_university": {
        "title": "ROSIS Pavia University",
        "cube": {
            "file": "PaviaU.mat",
            "format": "mat",
            "key": "paviaU",
            "url": EHU + "e/ee/PaviaU.mat",
            "git_blob": "6eecc933bedec1130bb046483dd12e25cf091b24",
        },
        "ground_truth": {
            "file": "PaviaU_gt.mat",
            "format": "mat",
            "key": "paviaU_gt",
            "url": EHU + "5/50/PaviaU_gt.mat",
            "sha256": "23f6a426928f9b32984adffe659e29f554f9fb6c93b5a107528d308d5087a829",
            "git_blob": "85d57a7f2fec6fc2b05a810b31808b88f9357dc6",
        },
        "class_names": [
            "Asphalt",
            "Meadows",
            "Gravel",
            "Trees",
            "Painted metal sheets",
            "Bare Soil",
            "Bitumen",
            "Self-Blocking Bricks",
            "Shadows",
        ],
        "rows": 610,
        "cols": 340,
        "bands": 103,
        "labelled": 42776,
        "citation": f"Prof. Paolo Gamba, University of Pavia (ROSIS); {EHU_CITATION}",
    },
    "salinas": {
        "title": "AVIRIS Salinas Valley (corrected, 204 bands)",
        "cube": {
            "file": "Salinas_corrected.mat",
            "format": "mat",
            "key": "salinas_corrected",
            "url": EHU + "a/a3/Salinas_corrected.mat",
            "git_blob": "2a745377a77369bd5a9d430c722f0bf5e0d0ffc1",
        },
        "ground_truth": {
            "file": "Salinas_gt.mat",
            "format": "mat",
            "key": "salinas_gt",
            "url": EHU + "f/fa/Salinas_gt.mat",
            "sha256": "ecfab4d31ef5553f097943235d8ea502038eb4a2067b2ad10b33e37c949955e2",
            "git_blob": "a0781d95c9fa20bb3c31751a0cf24b7dc09be65b",
        },
        "class_names": [
            "Brocoli_green_weeds_1",
            "Brocoli_green_weeds_2",
            "Fallow",
            "Fallow_rough_plow",
            "Fallow_smooth",
            "Stubble",
            "Celery",
            "Grapes_untrained",
            "Soil_vinyard_develop",
            "Corn_senesced_green_weeds",
            "Lettuce_romaine_4wk",
            "Lettuce_romaine_5wk",
            "Lettuce_romaine_6wk",
            "Lettuce_romaine_7wk",
            "Vinyard_untrained",
            "Vinyard_vertical_trellis",
        ],
        "rows": 512,
        "cols": 217,
        "bands": 204,
        "labelled": 54129,
        "citation": f"AVIRIS / NASA JPL, Salinas Valley, California; {EHU_CITATION}",
    },
}

SCENE_KEYS = {
    "title",
    "cube",
    "ground_truth",
    "class_names",
    "classes",
    "drop_bands",
    "rows",
    "cols",
    "bands",
    "labelled",
    "citation",
    "how_to_get",
}
FILE_KEYS = {"file", "format", "key", "data", "url", "sha256", "git_blob"}


def scene_names(user_scenes: dict | None = None) -> list[str]:
    return [DEFAULT_SCENE, *DECLARED, *sorted(user_scenes or {})]


def get_scene(name: str, user_scenes: dict | None = None) -> dict:
    """The checked definition of a declared scene or of one under ``scenes:``."""
    user_scenes = dict(user_scenes or {})
    if name in user_scenes:
        scene = user_scenes[name]
        where = f"config key scenes.{name}"
    elif name in DECLARED:
        scene, where = DECLARED[name], f"declared scene {name}"
    else:
        raise ConfigError(
            f"config key datasets.indian_pines.scene: {name!r} is not a scene; known: {', '.join(scene_names(user_scenes))} "
            "(or declare it under scenes:)"
        )
    return check_scene(scene, where)


def check_scene(scene: dict, where: str) -> dict:
    """Refuse, in one line naming the key, a scene definition that cannot be read."""
    if not isinstance(scene, dict):
        raise ConfigError(f"{where}: expected a mapping (title, cube, ground_truth, class_names, ...)")
    unknown = sorted(set(scene) - SCENE_KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(SCENE_KEYS))})")
    for part in ("cube", "ground_truth"):
        entry = scene.get(part)
        if not isinstance(entry, dict) or not entry.get("file"):
            raise ConfigError(f"{where}.{part}: expected a mapping with file and format")
        bad = sorted(set(entry) - FILE_KEYS)
        if bad:
            raise ConfigError(
                f"{where}.{part}.{bad[0]}: unknown key (allowed: {', '.join(sorted(FILE_KEYS))})"
            )
        if entry.get("format") not in FORMATS:
            raise ConfigError(f"{where}.{part}.format: {entry.get('format')!r}, expected one of {FORMATS}")
        if entry["format"] == "envi" and not entry.get("data"):
            raise ConfigError(f"{where}.{part}.data: the ENVI binary file beside {entry['file']} is not set")
    names = scene.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) < 2):
        raise ConfigError(f"{where}.class_names: expected a list of at least 2 class names (ids 1..n)")
    for key in ("rows", "cols", "bands", "classes", "labelled"):
        value = scene.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"{where}.{key}: {value!r}, expected a positive integer")
    drop = scene.get("drop_bands") or []
    if not isinstance(drop, list) or not all(isinstance(b, int) and b >= 1 for b in drop):
        raise ConfigError(f"{where}.drop_bands: expected a list of 1-based band numbers")
    return dict(scene)


def check_scene_config(config: dict) -> None:
    """At start-up: every ``scenes:`` entry well-formed, the chosen scene known."""
    user = config.get("scenes") or {}
    for name, scene in user.items():
        if name == DEFAULT_SCENE or name in DECLARED:
            raise ConfigError(f"config key scenes.{name}: {name} is a built-in scene; choose another name")
        check_scene(scene, f"config key scenes.{name}")
    name = ((config.get("datasets") or {}).get("indian_pines") or {}).get("scene") or DEFAULT_SCENE
    if name != DEFAULT_SCENE:
        get_scene(name, user)


def n_classes_of(scene: dict) -> int | None:
    return len(scene["class_names"]) if scene.get("class_names") else scene.get("classes")
