"""Indian Pines constants and raw files: the cube, ground truths, band calibration, options.

The dataset spec built from them (and from :mod:`.scenes` for another scene) is :mod:`.spec`."""

from __future__ import annotations

import logging

from ..dataspec import Checksum, RemoteFile
from ..errors import ConfigError

log = logging.getLogger("dlrepro")

N_ROWS = N_COLS = 145
ALL_BANDS = 220
# EHU: "reduced to 200 by removing bands covering the region of water absorption:
# [104-108], [150-163], 220" (1-based AVIRIS band numbers of the 220-band cube)
EHU_DROPPED_BANDS = (*range(104, 109), *range(150, 164), 220)
BAND_CHOICES = (200, 220)
GROUND_TRUTHS = ("purdue", "ehu")
SPLITS = ("random", "disjoint")
PADDING_MODES = ("constant", "reflect", "symmetric", "edge")

CLASS_NAMES = (
    "Alfalfa",
    "Corn-notill",
    "Corn-mintill",
    "Corn",
    "Grass-pasture",
    "Grass-trees",
    "Grass-pasture-mowed",
    "Hay-windrowed",
    "Oats",
    "Soybean-notill",
    "Soybean-mintill",
    "Soybean-clean",
    "Wheat",
    "Woods",
    "Buildings-Grass-Trees-Drives",
    "Stone-Steel-Towers",
)
# labelled pixels per class (PROVENANCE.md section 3)
PURDUE_COUNTS = (54, 1434, 834, 234, 497, 747, 26, 489, 20, 968, 2468, 614, 212, 1294, 380, 95)
EHU_COUNTS = (46, 1428, 830, 237, 483, 730, 28, 478, 20, 972, 2455, 593, 205, 1265, 386, 93)

# --------------------------------------------------------------------------- raw files

EHU = "http://www.ehu.eus/ccwintco/uploads/"
SPY_PINNED = (
    "https://raw.githubusercontent.com/spectralpython/sample-data/b2c0458d18a26b84c4262a09a106bd7cdeb1203d/"
)
SPY_MASTER = "https://raw.githubusercontent.com/spectralpython/sample-data/master/"

CUBE_FILES = {
    200: RemoteFile(
        name="Indian_pines_corrected.mat",
        checksums=(
            Checksum("git_blob", "75b6d6e7df046fce91eda23e7559e274c92da711", "EHU .mat"),
            Checksum(
                "sha256",
                "8f038e4d81569e38ebfc72a15c9984c150de42580ab260be10a13442e912e451",
                "tensorly 0.10.0 .npy (same array as the EHU .mat)",
            ),
        ),
        urls=(EHU + "6/67/Indian_pines_corrected.mat",),
        aliases=("Indian_pines_corrected.npy",),
    ),
    220: RemoteFile(
        name="Indian_pines.mat",
        checksums=(
            Checksum("git_blob", "c03ff8a0dbc962fe76d08f565f02008eae3f7dd7", "EHU .mat"),
            Checksum("git_blob", "fc0eac775148ce51610e22bc224ae4b81c926666", "Purdue 92AV3C.lan (ERDAS LAN)"),
        ),
        urls=(EHU + "2/22/Indian_pines.mat", SPY_MASTER + "92AV3C.lan"),
        aliases=("92AV3C.lan",),
    ),
}
GT_FILES = {
    "purdue": RemoteFile(
        name="92AV3GT.GIS",
        checksums=(
            Checksum("sha256", "4264595a73b804d0321f882cfc5667c24ced5d9166a30fe2867ba35975070d94"),
            Checksum("git_blob", "5e26cceb4cd3a814580c7c727e663bcc91d2a0fd"),
        ),
        urls=(SPY_PINNED + "92AV3GT.GIS", SPY_MASTER + "92AV3GT.GIS"),
    ),
    "ehu": RemoteFile(
        name="Indian_pines_gt.mat",
        checksums=(
            Checksum("sha256", "65c4687a8ab04f6da4789799bc3bc4f6e88bccac3ed6a2e6ae367e5e6b9e429c"),
            Checksum("git_blob", "8e308e6d2ad7cbb81dc1cd7849a2b7b768f4be6d"),
        ),
        urls=(EHU + "c/c4/Indian_pines_gt.mat",),
    ),
}
SPC_FILE = RemoteFile(
    name="92AV3C.spc",
    checksums=(
        Checksum("sha256", "beab701c26ba0c2430e1e0e4073e2179092c8c5bb281f5578dba6694906c5c4c"),
        Checksum("git_blob", "1dc02eae3f0dd9fd6722fe9e1944e793b026f99d"),
    ),
    urls=(SPY_PINNED + "92AV3C.spc", SPY_MASTER + "92AV3C.spc"),
    optional=True,
)
MAT_KEYS = {"Indian_pines_corrected.mat": "indian_pines_corrected", "Indian_pines.mat": "indian_pines"}
GT_MAT_KEY = "indian_pines_gt"

CITATION = (
    "Baumgardner, Biehl, Landgrebe (2015): 220 Band AVIRIS Hyperspectral Image Data Set: June 12, 1992 "
    "Indian Pine Test Site 3, Purdue University Research Repository, doi:10.4231/R7RX991C (CC0); "
    ".mat files: EHU Grupo de Inteligencia Computacional"
)
EMBEDDED = (
    "tensorly 0.10.0 tensorly/datasets/data: Indian_pines_corrected.npy (200 bands) + Indian_pines_gt.npy "
    "(EHU ground truth, 10,249 labelled pixels, not the lecture's Purdue 10,366)"
)


# how to run offline when the configured files differ from the embedded ones (200 bands, EHU)
STAND_IN_HINT = (
    "offline, set config key datasets.indian_pines.ground_truth: ehu (and bands: 200) to use the embedded "
    "tensorly stand-in, or leave strict_data: false so that the workflow falls back to it by itself"
)


def check_options(options: dict | None) -> tuple[int, str]:
    """``(bands, ground_truth)`` from the dataset's config section, validated."""
    options = dict(options or {})
    bands = int(options.get("bands", 200))
    gt = str(options.get("ground_truth", "purdue"))
    if bands not in BAND_CHOICES:
        raise ConfigError(f"config key datasets.indian_pines.bands: {bands}, expected one of {BAND_CHOICES}")
    if gt not in GROUND_TRUTHS:
        raise ConfigError(
            f"config key datasets.indian_pines.ground_truth: {gt!r}, expected one of {GROUND_TRUTHS}"
        )
    return bands, gt
