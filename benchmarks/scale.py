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

from scale_stages import CHILD  # noqa: E402  (benchmarks/scale_stages.py: the stages)

FULL = {"rows": 1848, "cols": 614, "bands": 220, "classes": 58, "labelled": 334_245}
QUICK = {"rows": 200, "cols": 200, "bands": 220, "classes": 58, "labelled": 12_000}
STAGES = ("generate", "convert", "normalise", "index", "train", "predict")
RSS_TARGET = 2.5


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
