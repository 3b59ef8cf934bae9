"""Benchmark: patch extraction on the full Indian Pines cube (wall time, peak memory).

Usage:  .venv/bin/python benchmarks/patch_extraction.py [--window 9] [--padding constant]
                                                       [--netcdf] [--synthetic]

Uses the real 200-band cube and Purdue ground truth from the shared data directory
(``../shared/data`` beside the checkout, or ``$DLREPRO_SHARED_DATA``); without them, or
with ``--synthetic``, a synthetic full-size scene (145 x 145 x 200, 10,366 labelled
pixels).  Prints, per stage, the wall time, the peak traced allocation (tracemalloc:
NumPy's buffers) and the process peak RSS (``resource.getrusage``).  The patch array
itself is n x window^2 x bands x 4 bytes (672 MB for 10,366 9 x 9 x 200 patches); the
extraction allocates it once.  This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from dlrepro import hyperspectral as hs  # noqa: E402


def shared_data() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("DLREPRO_SHARED_DATA", default)) / "indian_pines"


def rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(synthetic: bool):
    data = shared_data()
    cube_path, gt_path = data / "Indian_pines_corrected.npy", data / "92AV3GT.GIS"
    if not synthetic and cube_path.exists() and gt_path.exists():
        return hs.read_cube(cube_path), hs.read_ground_truth(gt_path), f"real ({data})"
    rng = np.random.default_rng(0)
    cube = rng.integers(955, 9604, size=(hs.N_ROWS, hs.N_COLS, 200), dtype=np.uint16)
    gt = np.zeros((hs.N_ROWS, hs.N_COLS), dtype=np.uint8)
    gt.flat[rng.choice(gt.size, sum(hs.PURDUE_COUNTS), replace=False)] = np.repeat(
        np.arange(1, 17), hs.PURDUE_COUNTS
    )
    return cube, gt, "synthetic full-size scene"


def stage(name: str, func):
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    tic = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - tic
    peak = tracemalloc.get_traced_memory()[1] - before
    print(
        f"{name:<28} {seconds:8.2f} s   peak traced +{peak / 2**20:8.1f} MiB   process peak RSS {rss_mb():8.1f} MiB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=9)
    parser.add_argument("--padding", default="constant", choices=hs.PADDING_MODES)
    parser.add_argument("--netcdf", action="store_true", help="also time writing the patches NetCDF")
    parser.add_argument("--synthetic", action="store_true", help="use a synthetic full-size cube")
    args = parser.parse_args()

    cube, gt, what = load(args.synthetic)
    rows, cols, _ = hs.labelled_pixels(gt)
    n_bytes = len(rows) * args.window**2 * cube.shape[2] * 4
    print(f"data: {what}; cube {cube.shape} {cube.dtype}; {len(rows)} labelled pixels")
    print(
        f"patch array: ({len(rows)}, {args.window}, {args.window}, {cube.shape[2]}) float32 = {n_bytes / 2**20:.1f} MiB"
    )
    print(f"process peak RSS before: {rss_mb():.1f} MiB")
    tracemalloc.start()
    normalised, _, _ = stage("normalise (global)", lambda: hs.normalise(cube))
    padded = stage(f"pad ({args.padding})", lambda: hs.pad_cube(normalised, args.window // 2, args.padding))
    patches = stage("extract patches", lambda: hs.extract_patches(padded, rows, cols, args.window))
    assert patches.flags.c_contiguous and patches.dtype == np.float32
    if args.netcdf:
        import xarray as xr

        from dlrepro.io import write_netcdf

        ds = xr.Dataset({"patches": (("sample", "wy", "wx", "band"), patches)})
        with tempfile.TemporaryDirectory() as tmp:
            stage("write NetCDF (zlib 1)", lambda: write_netcdf(ds, Path(tmp) / "patches.nc"))
            size = (Path(tmp) / "patches.nc").stat().st_size
        print(f"NetCDF file: {size / 2**20:.1f} MiB")
    tracemalloc.stop()
    print(f"patches: {patches.nbytes / 2**20:.1f} MiB; process peak RSS after: {rss_mb():.1f} MiB")


if __name__ == "__main__":
    main()
