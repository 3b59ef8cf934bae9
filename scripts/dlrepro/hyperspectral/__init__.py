"""AVIRIS Indian Pines: readers, NetCDF, normalisation, patches, splits, model, maps.

Data (see ``/work/shared/data/PROVENANCE.md`` section 3):

* the cube: 145 x 145 pixels, 220 bands (EHU ``Indian_pines.mat`` = Purdue ``92AV3C.lan``)
  or 200 bands (EHU ``Indian_pines_corrected.mat``: bands [104-108], [150-163] and 220
  removed; also accepted as the tensorly 0.10.0 ``.npy``, the same array);
* the ground truth: Purdue/MultiSpec ``92AV3GT.GIS`` (ERDAS 7.4 GIS, 10,366 labelled
  pixels, the lecture's 1,036 + 9,330) or EHU ``Indian_pines_gt.mat`` (10,249 labelled);
* ``92AV3C.spc``: centre wavelength and FWHM of the 220 bands (optional).

Raw files keep their canonical names in the dataset directory; the readers recognise the
content (MAT v5, NumPy ``.npy``, ERDAS LAN/GIS) by its magic bytes, so an accepted byte
variant stored under the canonical name (the tensorly ``.npy`` of the corrected cube, the
``92AV3C.lan`` of the 220-band cube) is read correctly.  The manifest records which
variant was used.

Package layout (one module per stage; every public name is re-exported here, so
``from dlrepro.hyperspectral import X`` keeps working), from the bottom of the stack up
(a module imports only those before it): ``sources`` (constants, raw files, options),
``formats`` (magic bytes, MAT v5, ERDAS LAN/GIS), ``readers`` (Indian Pines raw files ->
NetCDF cube), ``synthetic`` (synthetic scene, embedded stand-in), ``scenes`` (declared scenes
and the ``scenes:`` config block), ``scene_io`` (any scene's formats -> NetCDF cube, its
synthetic writer), ``spec`` (the dataset spec: where the files of Indian Pines or another
scene come from), ``preprocessing`` (normalisation, patches), ``splits``, ``model``,
``maps``, ``table``, ``streaming`` (the patch index, windows gathered per batch, block-wise
normalisation and prediction: memory O(cube + a few batches)).

Pipeline: :func:`cube_dataset` (raw files -> NetCDF, dims ``(y, x, band)``),
:func:`normalise` (global or per-band mean/std), :func:`extract_patches` (vectorised
windows around labelled pixels), :func:`random_split` / :func:`disjoint_split`,
:func:`build_model` (the lecture's 3-D CNN), :func:`plot_maps`, :func:`indian_pines_table`.
"""

from .maps import class_colours, plot_maps
from .model import build_model, one_hot, predict_scene
from .preprocessing import (
    check_spread,
    extract_patches,
    labelled_pixels,
    normalisation_stats,
    normalise,
    pad_cube,
    patches_dataset,
)
from .readers import cube_dataset, infer_dropped_bands, read_cube, read_ground_truth, read_spc, retained_bands
from .sources import (
    ALL_BANDS,
    BAND_CHOICES,
    CITATION,
    CLASS_NAMES,
    CUBE_FILES,
    EHU,
    EHU_COUNTS,
    EHU_DROPPED_BANDS,
    EMBEDDED,
    GROUND_TRUTHS,
    GT_FILES,
    GT_MAT_KEY,
    MAT_KEYS,
    N_COLS,
    N_ROWS,
    PADDING_MODES,
    PURDUE_COUNTS,
    SPC_FILE,
    SPLITS,
    SPY_MASTER,
    SPY_PINNED,
    STAND_IN_HINT,
    check_options,
)
from .spec import indian_pines_spec
from .splits import disjoint_split, make_split, random_split, split_dataset, train_counts, window_overlaps
from .streaming import (
    PatchArray,
    PatchSource,
    activation_bytes,
    blockwise_stats,
    normalise_blockwise,
    patch_index_dataset,
    predict_pixels,
    predict_scene_streamed,
    prediction_batch,
    window_padding,
)
from .synthetic import synthetic_scene, write_embedded, write_erdas_gis, write_spc, write_synthetic
from .table import indian_pines_table

__all__ = [
    "PatchArray",
    "PatchSource",
    "blockwise_stats",
    "normalise_blockwise",
    "patch_index_dataset",
    "activation_bytes",
    "predict_pixels",
    "prediction_batch",
    "predict_scene_streamed",
    "window_padding",
    "ALL_BANDS",
    "BAND_CHOICES",
    "CITATION",
    "CLASS_NAMES",
    "CUBE_FILES",
    "EHU",
    "EHU_COUNTS",
    "EHU_DROPPED_BANDS",
    "EMBEDDED",
    "GROUND_TRUTHS",
    "GT_FILES",
    "GT_MAT_KEY",
    "MAT_KEYS",
    "N_COLS",
    "N_ROWS",
    "PADDING_MODES",
    "PURDUE_COUNTS",
    "SPC_FILE",
    "SPLITS",
    "SPY_MASTER",
    "SPY_PINNED",
    "STAND_IN_HINT",
    "build_model",
    "check_spread",
    "check_options",
    "class_colours",
    "cube_dataset",
    "disjoint_split",
    "extract_patches",
    "indian_pines_spec",
    "indian_pines_table",
    "infer_dropped_bands",
    "labelled_pixels",
    "make_split",
    "normalisation_stats",
    "normalise",
    "one_hot",
    "pad_cube",
    "patches_dataset",
    "plot_maps",
    "predict_scene",
    "random_split",
    "read_cube",
    "read_ground_truth",
    "read_spc",
    "retained_bands",
    "split_dataset",
    "synthetic_scene",
    "train_counts",
    "window_overlaps",
    "write_embedded",
    "write_erdas_gis",
    "write_spc",
    "write_synthetic",
]
