"""Scale benchmark: a synthetic scene of the full Indian Pines data set's order of size.

Usage:  .venv/bin/python benchmarks/scale.py            # 1848 x 614 pixels x 220 bands int16, 58 classes,
                                                       # 334,245 labelled (the PURR NS-line scene's size)
        .venv/bin/python benchmarks/scale.py --quick    # 200 x 200 x 220, 12,000 labelled
        .venv/bin/python benchmarks/scale.py --rows R --cols C --bands B --classes K --labelled N

Stages, each in its own process (its peak RSS is that process's ``ru_maxrss``, read with
``os.wait4``), through the pipeline's own functions: ``generate`` (the synthetic raw cube,
``.npy`` int16, written block by block), ``convert`` (raw file -> ``cube.nc``),
``normalise`` (block-wise float64 statistics -> float32 ``normalised.nc``), ``index``
(``patch_index.nc`` + a stratified random split of ``--train-fraction``, 10 %),
``train`` (1 epoch of the lecture's 3-D CNN, batch 50, windows streamed from the padded
cube) and ``predict`` (every pixel of the scene, streamed).  Then the training throughput
of the in-memory path (all training windows as one array) and of the streamed path side by
side on the small scene (the real 145 x 145 x 200 Indian Pines from ``../shared/data`` when
present, else a synthetic one of its size), alternating A B A B, each in a fresh process.

Prints wall time, patches/s and peak RSS per stage, each RSS against the cube's float32 size
(target: at most 2.5x), with the CPU model, threads and load average; writes
``results/benchmarks/scale.{md,csv}``.  A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

FULL = {"rows": 1848, "cols": 614, "bands": 220, "classes": 58, "labelled": 334_245}
QUICK = {"rows": 200, "cols": 200, "bands": 220, "classes": 58, "labelled": 12_000}
STAGES = ("generate", "convert", "normalise", "index", "train", "predict")
RSS_TARGET = 2.5


# --------------------------------------------------------------------------- the synthetic scene


def synthetic_ground_truth(rows, cols, classes, labelled, seed=0, tile=16) -> np.ndarray:
    """Rectangular fields (``tile`` x ``tile``) of random classes, exactly ``labelled`` labelled pixels."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((rows, cols), dtype=np.uint8)
    ty, tx = -(-rows // tile), -(-cols // tile)
    tiles = rng.permutation(ty * tx)
    remaining = labelled
    for n, t in enumerate(tiles):
        if remaining <= 0:
            break
        y, x = divmod(int(t), tx)
        block = gt[y * tile : (y + 1) * tile, x * tile : (x + 1) * tile]
        cls = n % classes + 1 if n < classes else int(rng.integers(1, classes + 1))
        take = min(remaining, block.size)
        mask = np.zeros(block.size, dtype=bool)
        mask[:take] = True
        block[mask.reshape(block.shape)] = cls
        remaining -= take
    if remaining > 0:
        raise SystemExit(f"--labelled {labelled}: more than the {rows * cols} pixels of the scene")
    return gt


def write_scene(workdir: Path, rows, cols, bands, classes, labelled, seed=0, block_rows=64) -> None:
    """``cube.npy`` (int16, rows x cols x bands, written block by block) and ``gt.npy``."""
    gt = synthetic_ground_truth(rows, cols, classes, labelled, seed)
    np.save(workdir / "gt.npy", gt)
    rng = np.random.default_rng(seed + 1)
    spectra = rng.integers(1000, 8000, (classes + 1, bands)).astype(np.float32)
    cube = np.lib.format.open_memmap(
        workdir / "cube.npy", mode="w+", dtype=np.int16, shape=(rows, cols, bands)
    )
    for start in range(0, rows, block_rows):
        g = gt[start : start + block_rows]
        noise = rng.standard_normal((*g.shape, bands), dtype=np.float32) * 300
        cube[start : start + block_rows] = np.clip(spectra[g] + noise, 0, 32767).astype(np.int16)
    cube.flush()
    del cube


# --------------------------------------------------------------------------- stages (child processes)


def stage_convert(workdir: Path, args) -> dict:
    import xarray as xr

    from dlrepro import hyperspectral as hs
    from dlrepro.io import write_netcdf
    from dlrepro.validation import check_finite

    cube = hs.read_cube(workdir / "cube.npy")
    check_finite(cube, workdir / "cube.npy", "radiance values")
    gt = hs.read_ground_truth(workdir / "gt.npy")
    n_classes = int(gt.max())
    ds = xr.Dataset(
        {
            "radiance": (("y", "x", "band"), cube),
            "ground_truth": (("y", "x"), gt),
            "class_name": (
                ("class_id",),
                np.array([f"Synthetic class {c}" for c in range(1, n_classes + 1)], dtype=object),
            ),
        },
        coords={
            "band": np.arange(1, cube.shape[2] + 1, dtype=np.int16),
            "class_id": np.arange(1, n_classes + 1, dtype=np.uint8),
        },
        attrs={"source_label": "synthetic", "raw_sha256": "benchmark", "bands": int(cube.shape[2])},
    )
    write_netcdf(ds, workdir / "cube.nc")
    return {"items": int(gt.size)}


def stage_normalise(workdir: Path, args) -> dict:
    from dlrepro import hyperspectral as hs
    from dlrepro.io import open_netcdf, write_netcdf

    cube = open_netcdf(workdir / "cube.nc")
    values, mean, std = hs.normalise_blockwise(cube.radiance.values, "global")
    ds = cube.drop_vars("radiance")
    del cube
    ds["radiance"] = (("y", "x", "band"), values)
    ds.attrs.update(normalisation="global", normalisation_mean=float(mean), normalisation_std=float(std))
    write_netcdf(ds, workdir / "normalised.nc")
    return {"items": int(values.shape[0] * values.shape[1])}


def stage_index(workdir: Path, args) -> dict:
    import xarray as xr

    from dlrepro import hyperspectral as hs
    from dlrepro.io import open_netcdf, write_netcdf

    normalised = open_netcdf(workdir / "normalised.nc", drop=["radiance"])
    index = hs.patch_index_dataset(normalised, 9, "constant")
    write_netcdf(index, workdir / "patch_index.nc")
    train, test = hs.random_split(normalised.ground_truth.values, args.train_fraction, seed=0)
    write_netcdf(
        xr.Dataset({"train_mask": (("y", "x"), train), "test_mask": (("y", "x"), test)}), workdir / "split.nc"
    )
    return {
        "items": int(index.sizes["sample"]),
        "n_train": int(train.sum()),
        "index_bytes": (workdir / "patch_index.nc").stat().st_size,
    }


def stage_train(workdir: Path, args) -> dict:
    from dlrepro import hyperspectral as hs
    from dlrepro import training
    from dlrepro.io import open_netcdf

    training.configure_threads(args.threads)
    index, split = open_netcdf(workdir / "patch_index.nc"), open_netcdf(workdir / "split.nc")
    rows, cols = index.row.values, index.col.values
    train = np.flatnonzero(split.train_mask.values[rows, cols])
    n_all = len(train)
    if args.train_pixels and args.train_pixels < n_all:  # the first N, the whole epoch extrapolated
        train = train[: args.train_pixels]
    source = hs.PatchSource.from_netcdf(workdir / "normalised.nc", *hs.window_padding(index))
    x = source.pixels(rows[train], cols[train])
    n_classes = index.sizes["class_id"]
    y = hs.one_hot(index.label.values[train], n_classes)
    tic = time.perf_counter()
    model, history = training.fit(
        lambda: hs.build_model(source.n_bands, n_classes),
        x,
        y,
        epochs=1,
        batch_size=50,
        seed=1,
        workdir=workdir / "checkpoints",
        checkpoint_seconds=None,
    )
    seconds = time.perf_counter() - tic
    training.save_model(model, workdir / "model.keras")
    return {"items": len(x), "seconds": seconds, "loss": history[-1]["loss"], "scene_pixels": n_all}


def stage_predict(workdir: Path, args) -> dict:
    import keras

    from dlrepro import hyperspectral as hs
    from dlrepro import training
    from dlrepro.io import open_netcdf

    training.configure_threads(args.threads)
    model = keras.models.load_model(workdir / "model.keras")
    index = open_netcdf(workdir / "patch_index.nc")
    source = hs.PatchSource.from_netcdf(workdir / "normalised.nc", *hs.window_padding(index))
    h, w = source.shape[:2]
    b = args.predict_batch or hs.prediction_batch(model)
    tic = time.perf_counter()
    if args.predict_pixels and args.predict_pixels < h * w:  # the first N pixels (row-major), extrapolated
        rows, cols = np.divmod(np.arange(args.predict_pixels, dtype=np.int64), w)
        chunk = max(b, (64 * 2**20 // (81 * source.n_bands * 4)) // b * b)
        scene = hs.predict_pixels(model, source.pixels(rows, cols), chunk=chunk, batch_size=b)
    else:
        scene = hs.predict_scene_streamed(model, source, batch_size=b)
    seconds = time.perf_counter() - tic
    return {"items": int(scene.size), "seconds": seconds, "scene_pixels": h * w, "batch": b}


def small_scene():
    """The real 145 x 145 x 200 cube and Purdue ground truth when present, else a synthetic one."""
    from dlrepro import hyperspectral as hs

    default = ROOT.parent / "shared" / "data"
    data = Path(os.environ.get("DLREPRO_SHARED_DATA", default)) / "indian_pines"
    cube_path, gt_path = data / "Indian_pines_corrected.npy", data / "92AV3GT.GIS"
    if cube_path.exists() and gt_path.exists():
        return hs.read_cube(cube_path), hs.read_ground_truth(gt_path), "real Indian Pines 145 x 145 x 200"
    gt = synthetic_ground_truth(145, 145, 16, 10_366)
    rng = np.random.default_rng(0)
    cube = (rng.integers(1000, 8000, (17, 200))[gt] + rng.normal(0, 300, (145, 145, 200))).astype(np.uint16)
    return cube, gt, "synthetic 145 x 145 x 200"


def stage_small(workdir: Path, args) -> dict:
    """One side of the side-by-side throughput comparison (``--path memory|stream``)."""
    from dlrepro import hyperspectral as hs
    from dlrepro import training

    training.configure_threads(args.threads)
    cube, gt, what = small_scene()
    normalised, _, _ = hs.normalise(cube)
    train, _ = hs.random_split(gt, 0.1, seed=0)
    rows, cols = np.nonzero(train)
    pick = np.random.default_rng(0).permutation(len(rows))[: args.small_train]
    rows, cols = rows[pick], cols[pick]
    source = hs.PatchSource(normalised, 9, "constant")
    x = source.gather(rows, cols)[..., None] if args.path == "memory" else source.pixels(rows, cols)
    y = hs.one_hot(gt[rows, cols], int(gt.max()))
    _, history = training.fit(
        lambda: hs.build_model(cube.shape[2], int(gt.max())),
        x,
        y,
        epochs=args.small_epochs,
        batch_size=50,
        seed=1,
        workdir=workdir / f"ckpt-{args.path}",
        checkpoint_seconds=None,
    )
    later = [row["seconds"] for row in history[1:]] or [history[0]["seconds"]]
    return {"items": len(rows), "seconds": float(np.median(later)), "data": what, "loss": history[-1]["loss"]}


def stage_generate(workdir: Path, args) -> dict:
    write_scene(workdir, args.rows, args.cols, args.bands, args.classes, args.labelled)
    return {"items": args.rows * args.cols}


CHILD = {
    "generate": stage_generate,
    "convert": stage_convert,
    "normalise": stage_normalise,
    "index": stage_index,
    "train": stage_train,
    "predict": stage_predict,
    "small": stage_small,
}


# --------------------------------------------------------------------------- the parent


def run_child(argv: list[str], result: Path) -> dict:
    """Run one stage in a fresh process; its wall time and its own peak RSS (``os.wait4``)."""
    tic = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *argv, "--result", str(result)])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - tic
    if proc.returncode != 0:
        raise SystemExit(f"stage {' '.join(argv[:2])} failed with exit status {proc.returncode}")
    out = json.loads(result.read_text())
    out.update(wall=wall, rss_mib=usage.ru_maxrss / 1024)
    return out


def machine() -> dict:
    from bench_worker import cpu_info  # benchmarks/bench_worker.py

    info = cpu_info()
    return {
        "cpu": info["cpu"],
        "flags": ", ".join(info["flags"]),
        "load": " ".join(f"{v:.1f}" for v in os.getloadavg()),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a 200 x 200 x 220 scene, 12,000 labelled pixels"
    )
    for key in FULL:
        parser.add_argument(f"--{key}", type=int)
    parser.add_argument("--train-fraction", type=float, default=0.1)
    parser.add_argument(
        "--predict-batch",
        type=int,
        default=0,
        help="prediction batch (0: the pipeline's, sized by the model's activations: 64 at 220 bands)",
    )
    parser.add_argument(
        "--train-pixels",
        type=int,
        default=0,
        help="train on the first N training pixels and extrapolate (0: all)",
    )
    parser.add_argument(
        "--predict-pixels",
        type=int,
        default=0,
        help="predict only the first N pixels and extrapolate (0: all)",
    )
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--small-train", type=int, default=1036, help="training patches of the small-scene comparison"
    )
    parser.add_argument("--small-epochs", type=int, default=3)
    parser.add_argument("--small-reps", type=int, default=2, help="runs per side (0: no comparison)")
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help="comma-separated stages to run (with --workdir: reuse earlier ones)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks")
    parser.add_argument(
        "--workdir", type=Path, help="keep the stage files here (default: a temporary directory)"
    )
    # child mode
    parser.add_argument("--stage", choices=sorted(CHILD), help=argparse.SUPPRESS)
    parser.add_argument("--path", choices=("memory", "stream"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = dict(QUICK if args.quick else FULL)
    size.update({k: getattr(args, k) for k in FULL if getattr(args, k) is not None})
    for key, value in size.items():
        setattr(args, key, value)

    if args.stage:  # a child: one stage, its figures as JSON
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as the pipeline's train env
        out = CHILD[args.stage](args.workdir, args)
        args.result.write_text(json.dumps(out))
        return

    cube_mib = size["rows"] * size["cols"] * size["bands"] * 4 / 2**20
    info = machine()
    header = (
        f"Scale benchmark: synthetic scene {size['rows']} x {size['cols']} pixels ({size['rows'] * size['cols']:,}) x "
        f"{size['bands']} bands int16, {size['classes']} classes, {size['labelled']:,} labelled; "
        f"cube float32 {cube_mib:.0f} MiB (RSS target {RSS_TARGET}x = {RSS_TARGET * cube_mib:.0f} MiB)\n"
        f"CPU: {info['cpu']} ({info['flags']}); {args.threads} threads; load average at start {info['load']}"
    )
    print(header, flush=True)
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="dlrepro-scale-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        common = [
            *(f"--{k}={v}" for k, v in size.items()),
            "--workdir",
            str(workdir),
            "--threads",
            str(args.threads),
            "--train-fraction",
            str(args.train_fraction),
            "--predict-pixels",
            str(args.predict_pixels),
            "--train-pixels",
            str(args.train_pixels),
            "--predict-batch",
            str(args.predict_batch),
        ]
        for name in [s for s in STAGES if s in args.stages.split(",")]:
            result = workdir / f"{name}.json"
            fig = run_child(["--stage", name, *common], result)
            seconds = fig.get("seconds", fig["wall"])
            fig.update(
                stage=name,
                per_s=fig["items"] / seconds if seconds else float("nan"),
                x_cube=fig["rss_mib"] / cube_mib,
            )
            notes = [f"batch {fig['batch']}"] if "batch" in fig else []
            if fig.get("scene_pixels", fig["items"]) > fig["items"]:
                notes.append(
                    f"{fig['items']:,} of {fig['scene_pixels']:,}; all extrapolated: "
                    f"{fig['scene_pixels'] / fig['per_s']:.0f} s"
                )
            fig["note"] = "; ".join(notes)
            rows_out.append(fig)
            print(
                f"  {name:<10} {fig['wall']:9.1f} s wall  {fig['items']:>10,} {'patches' if name in ('train', 'predict') else 'pixels':<8}"
                f" {fig['per_s']:10.1f} /s  peak RSS {fig['rss_mib']:8.0f} MiB = {fig['x_cube']:.2f}x cube",
                flush=True,
            )
        compare = []
        for rep in range(args.small_reps):
            for path in ("memory", "stream"):
                fig = run_child(
                    [
                        "--stage",
                        "small",
                        "--path",
                        path,
                        "--small-train",
                        str(args.small_train),
                        "--small-epochs",
                        str(args.small_epochs),
                        *common,
                    ],
                    workdir / f"small-{path}-{rep}.json",
                )
                fig.update(path=path, rep=rep)
                compare.append(fig)
                print(
                    f"  small scene {path:<6} run {rep + 1}: {fig['seconds']:.2f} s per epoch ({fig['items']} patches, {fig['data']}), peak RSS {fig['rss_mib']:.0f} MiB",
                    flush=True,
                )
    lines = [
        header,
        "",
        "| stage | wall s | items | items/s | peak RSS MiB | RSS / cube float32 | within 2.5x | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fig in rows_out:
        within = "yes" if fig["x_cube"] <= RSS_TARGET else "NO"
        lines.append(
            f"| {fig['stage']} | {fig['wall']:.1f} | {fig['items']:,} | {fig['per_s']:.1f} | {fig['rss_mib']:.0f} | {fig['x_cube']:.2f} | {within} | {fig.get('note', '')} |"
        )
    if compare:
        med = {
            p: float(np.median([f["seconds"] for f in compare if f["path"] == p]))
            for p in ("memory", "stream")
        }
        ratio = med["stream"] / med["memory"]
        lines += [
            "",
            f"Small scene ({compare[0]['data']}), {compare[0]['items']} training patches, {args.small_epochs} epochs, "
            f"{args.small_reps} runs per side (A B A B): median s per epoch (epochs after the first) in memory "
            f"{med['memory']:.2f}, streamed {med['stream']:.2f}, streamed / in memory {ratio:.3f} "
            f"({'within' if ratio <= 1.10 else 'NOT within'} 10 %); peak RSS in memory "
            f"{max(f['rss_mib'] for f in compare if f['path'] == 'memory'):.0f} MiB, streamed "
            f"{max(f['rss_mib'] for f in compare if f['path'] == 'stream'):.0f} MiB",
        ]
    lines.append(f"Load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    text = "\n".join(lines)
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "scale_quick" if args.quick else "scale"
    (args.out / f"{name}.md").write_text(text + "\n")
    with open(args.out / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["stage", "wall", "items", "per_s", "rss_mib", "x_cube"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(
            rows_out
            + [
                {
                    "stage": f"small-{f['path']}-{f['rep']}",
                    "wall": f["wall"],
                    "items": f["items"],
                    "per_s": f["items"] / f["seconds"],
                    "rss_mib": f["rss_mib"],
                    "x_cube": "",
                }
                for f in compare
            ]
        )


if __name__ == "__main__":
    main()
