"""Helpers of the cluster tests (tests/test_slurm.py, tests/test_envs.py, tests/test_resume.py).

* :func:`workflow_rules` - every rule of the workflow as Snakemake itself sees it (name, conda
  env, resources, localrule, script), read through a wrapper Snakefile that includes ours.
* :func:`load_profile`, :func:`make_test_profile` - the Slurm test profile generated from
  ``profiles/slurm/config.yaml`` + ``profiles/tiny/config.yaml``, so the two cannot drift.
* :func:`slurm_jobs` - per-job records of the test cluster (epilog + jobcomp + scontrol).
* :func:`compare_trees` - outputs of two runs equal, ignoring wall-clock fields.

Also a command line:  python tests/slurm/cluster_helpers.py make-profile OUT_DIR
"""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# The test cluster (tests/slurm/start-slurm.sh) gets the partition and account names of the
# profile's SITE VALUES block unchanged. Its one node has 2 cores: CPUs per job are capped so
# that several jobs fit (TensorFlow then runs 1 thread, as in the tiny profile).
TEST_CAPS = {"cpus_per_gpu": 1, "cpus_per_task": 1, "mem_mb": 3000, "gpu": 1}
# Keys of profiles/slurm that do not apply to the test cluster: no conda on the test machine
# (the jobs use the test's Python, the documented env-modules/none way); envs are checked by
# tests/test_envs.py.
DROPPED_KEYS = {"software-deployment-method", "conda-prefix", "use-conda"}
SITE_KEYS = ("x-site-cpu", "x-site-gpu")
# Speed-ups for a local one-node cluster (no effect on what is tested): first status check
# after 2 s (MinJobAge=600 keeps squeue's answers well past 3 x 2 s), outputs on a local disk.
TEST_SETTINGS = {
    "slurm-init-seconds-before-status-checks": 2,
    "latency-wait": 5,
    "slurm-keep-successful-logs": True,
}

GPU_RULE = re.compile(r"^(train|evaluate)_")

_INTROSPECT = """
import json
include: "Snakefile"
_local = getattr(workflow, "_localrules", set())
_rules = []
for _r in workflow.rules:
    _env = _r.conda_env
    if _env is not None:
        _env = str((__import__("pathlib").Path(_r.snakefile).parent / str(_env)).resolve())
    _res = {}
    for _k, _v in _r.resources.items():
        if _k.startswith("_") or _k == "tmpdir":
            continue
        _v = getattr(_v, "value", _v)
        _res[_k] = _v if isinstance(_v, (int, float, str)) or _v is None else repr(_v)
    _script = None
    if _r.script is not None:
        _script = str((__import__("pathlib").Path(_r.snakefile).parent / str(_r.script)).resolve())
    _rules.append({"name": _r.name, "conda": _env, "resources": _res,
                   "local": _r.name in _local, "script": _script,
                   "file": str(_r.snakefile), "norun": bool(_r.norun)})
print("DLREPRO-RULES " + json.dumps(_rules))
"""


def workflow_rules(workdir: Path = REPO) -> list[dict]:
    """Every rule of the workflow in ``workdir`` (parsed by Snakemake with the default config).

    Returns dicts with ``name``, ``conda`` (absolute path or None), ``resources`` (as declared
    in the rule), ``local`` (in ``localrules``), ``script`` (absolute path or None), ``norun``.
    """
    wrapper = Path(workdir) / ".dlrepro-rules.smk"  # beside the Snakefile: same basedir
    wrapper.write_text(_INTROSPECT)
    try:
        proc = subprocess.run(
            [SNAKEMAKE, "-s", wrapper.name, "--list-rules", "--workflow-profile", "none"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        wrapper.unlink(missing_ok=True)
    for line in proc.stdout.splitlines():
        if line.startswith("DLREPRO-RULES "):
            return json.loads(line.split(" ", 1)[1])
    raise AssertionError(
        f"could not list the workflow's rules:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def gpu_rules(rules: list[dict]) -> set[str]:
    """GPU rules: named train_*/evaluate_* or declaring a ``gpu`` resource."""
    return {r["name"] for r in rules if GPU_RULE.match(r["name"]) or r["resources"].get("gpu")}


def load_profile(path: Path) -> dict:
    """A profile's config.yaml as Snakemake reads it (YAML with anchors/merge keys, YTE)."""
    import yte

    with open(path) as fh:
        return yte.process_yaml(fh, require_use_yte=True)


def site_partitions(profile: dict) -> dict[str, str]:
    """The site's partition names from the SITE VALUES block: {'cpu': ..., 'gpu': ...}."""
    missing = [k for k in SITE_KEYS if "slurm_partition" not in (profile.get(k) or {})]
    if missing:
        raise AssertionError(f"profiles/slurm/config.yaml: {missing} must set slurm_partition")
    return {"cpu": profile["x-site-cpu"]["slurm_partition"], "gpu": profile["x-site-gpu"]["slurm_partition"]}


def _test_resources(resources: dict, sites: dict[str, str], where: str, account: bool) -> dict:
    out = {}
    for key, value in resources.items():
        if key == "slurm_account" and not account:
            continue  # the rejection case: a profile without account
        if key == "slurm_partition" and value not in sites.values():
            raise AssertionError(
                f"{where}: partition {value!r} is not one of the SITE VALUES partitions "
                f"{sorted(sites.values())} (partitions belong in the site block only)"
            )
        if key in TEST_CAPS and isinstance(value, (int, float)):
            value = min(value, TEST_CAPS[key])
        elif key in TEST_CAPS:
            value = TEST_CAPS[key]  # an expression (e.g. with attempt): the cap
        out[key] = value
    return out


def site_accounts(profile: dict) -> list[str]:
    """The account names of the SITE VALUES block (none where the site uses none)."""
    return sorted(
        {profile[k]["slurm_account"] for k in SITE_KEYS if (profile.get(k) or {}).get("slurm_account")}
    )


def make_test_profile(
    out_dir: Path, repo: Path = REPO, *, account: bool = True, set_resources: dict | None = None
) -> Path:
    """Write the Slurm test profile: profiles/slurm as it is (partitions, account, status
    command, retries, requeue, signals), CPUs capped to the 2-core node, no conda, and the
    tiny profile's settings. ``account=False`` drops the account (what a user who forgot it
    submits); ``set_resources`` updates single rules' entries (as a user edits the profile).
    Returns the profile directory."""
    slurm = load_profile(repo / "profiles/slurm/config.yaml")
    tiny = load_profile(repo / "profiles/tiny/config.yaml")
    sites = site_partitions(slurm)

    profile: dict = {}
    for key, value in slurm.items():
        if key in DROPPED_KEYS or key.startswith("x-"):
            continue
        if key == "default-resources":
            value = _test_resources(value, sites, "default-resources", account)
        elif key == "set-threads":  # threads follow the (capped) CPUs of the test cluster
            value = {rule: min(int(n), TEST_CAPS["cpus_per_gpu"]) for rule, n in value.items()}
        elif key == "set-resources":
            value = {
                rule: _test_resources(res, sites, f"set-resources.{rule}", account)
                for rule, res in value.items()
            }
            for rule, changes in (set_resources or {}).items():
                entry = value.setdefault(rule, {})
                for k, v in changes.items():
                    if v is None:
                        entry.pop(k, None)
                    else:
                        entry[k] = v
        profile[key] = value
    tiny_threads = tiny.pop("set-threads", {})
    assert all(profile["set-threads"].get(r) == n for r, n in tiny_threads.items()), tiny_threads
    profile.update(tiny)  # configfile (synthetic data, few epochs)
    profile.update(TEST_SETTINGS)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = (
        "# Generated by tests/slurm/cluster_helpers.py from profiles/slurm + profiles/tiny. Do not edit.\n"
    )
    (out_dir / "config.yaml").write_text(header + yaml.safe_dump(profile, sort_keys=False))
    return out_dir


# ----------------------------------------------------------------------------- Slurm records


def _kv_line(line: str, sep: str) -> dict:
    out = {}
    for item in line.strip().split(sep):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key] = value
    return out


def slurm_jobs(slurm_base: Path, scontrol=("scontrol",)) -> dict[str, dict]:
    """Jobs of the test cluster by id, merged from Slurm's own records:

    * ``$SLURM_BASE/log/jobs.txt`` (slurmd epilog): Partition, Comment, Gpus (SLURM_JOB_GPUS),
      CudaVisibleDevices, Cpus, ExitCode, WorkDir;
    * ``$SLURM_BASE/log/jobcomp.txt`` (jobcomp/filetxt): JobState, Partition, TimeLimit, ...;
    * ``scontrol show job -o`` (kept MinJobAge=600 s): TresPerJob, Comment, ...

    ``rule`` is parsed from the comment the Snakemake plugin sets (rule_<name>[_wildcards_...]).
    """
    jobs: dict[str, dict] = {}
    epilog = Path(slurm_base) / "log/jobs.txt"
    if epilog.exists():
        for line in epilog.read_text().splitlines():
            rec = _kv_line(line, "\t")
            jobs.setdefault(rec["JobId"], {}).update({f"epilog.{k}": v for k, v in rec.items()})
    jobcomp = Path(slurm_base) / "log/jobcomp.txt"
    if jobcomp.exists():
        for line in jobcomp.read_text().splitlines():
            rec = _kv_line(line, " ")
            if "JobId" in rec:
                jobs.setdefault(rec["JobId"], {}).update({f"jobcomp.{k}": v for k, v in rec.items()})
    for job_id, rec in jobs.items():
        proc = subprocess.run([*scontrol, "show", "job", "-o", job_id], capture_output=True, text=True)
        if proc.returncode == 0:
            rec.update({f"scontrol.{k}": v for k, v in _kv_line(proc.stdout, " ").items()})
        comment = rec.get("epilog.Comment") or rec.get("scontrol.Comment") or ""
        rec["rule"] = comment[len("rule_") :].split("_wildcards_")[0] if comment.startswith("rule_") else None
    return jobs


# ----------------------------------------------------------------------------- outputs

VOLATILE_KEYS = {
    "seconds",
    "elapsed",
    "wall_time",
    "created",
    "timestamp",
    "date",
    "time",
    "host",
    "hostname",
}


def volatile(key: str) -> bool:
    """Fields that legitimately differ between two runs of the same workflow: wall-clock
    times, and checksums of raw files (synthetic gzip/MAT files embed their creation time;
    the data inside are compared instead)."""
    return key in VOLATILE_KEYS or "sha256" in key


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if not volatile(k)}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _same_numbers(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def file_difference(a: Path, b: Path) -> str | None:
    """None if the two outputs are equal (exactly, apart from wall-clock fields), else why not."""
    if a.read_bytes() == b.read_bytes():
        return None
    suffix = a.suffix
    if suffix == ".json":
        ja, jb = _clean(json.loads(a.read_text())), _clean(json.loads(b.read_text()))
        return None if ja == jb else "JSON content differs"
    if suffix in (".csv", ".tsv"):
        import pandas as pd

        sep = "\t" if suffix == ".tsv" else ","
        fa = pd.read_csv(a, sep=sep, comment="#")
        fb = pd.read_csv(b, sep=sep, comment="#")
        fa = fa.drop(columns=[c for c in fa.columns if volatile(c)])
        fb = fb.drop(columns=[c for c in fb.columns if volatile(c)])
        if list(fa.columns) != list(fb.columns):
            return f"columns differ: {list(fa.columns)} vs {list(fb.columns)}"
        if fa.equals(fb):
            return None
        return f"table differs:\n{fa.compare(fb) if fa.shape == fb.shape else (fa.shape, fb.shape)}"
    if suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(a) as da, xr.open_dataset(b) as db:
            da.load()
            db.load()
            for ds in (da, db):
                for key in list(ds.attrs):
                    if volatile(key):
                        del ds.attrs[key]
            return None if da.identical(db) else "NetCDF datasets differ"
    if suffix == ".keras":
        import numpy as np

        wa, wb = keras_weights(a), keras_weights(b)
        if len(wa) != len(wb):
            return "different number of weight arrays"
        bad = [
            i
            for i, (x, y) in enumerate(zip(wa, wb, strict=True))
            if x.shape != y.shape or not np.array_equal(x, y)
        ]
        return None if not bad else f"weights differ in arrays {bad}"
    if suffix == ".gz":
        import gzip

        return (
            None
            if gzip.decompress(a.read_bytes()) == gzip.decompress(b.read_bytes())
            else "gzip content differs"
        )
    if suffix == ".mat":
        import numpy as np
        from scipy.io import loadmat

        ma = {k: v for k, v in loadmat(a).items() if not k.startswith("__")}
        mb = {k: v for k, v in loadmat(b).items() if not k.startswith("__")}
        same = ma.keys() == mb.keys() and all(np.array_equal(ma[k], mb[k]) for k in ma)
        return None if same else "MAT variables differ"
    if suffix in (".md", ".txt", ".log"):
        return "text differs"
    return "bytes differ"


def keras_weights(path: Path):
    """The weight arrays stored in a .keras file (read with h5py, no TensorFlow import)."""
    import zipfile

    import h5py
    import numpy as np

    arrays = []
    with zipfile.ZipFile(path) as zf, zf.open("model.weights.h5") as fh:
        data = io.BytesIO(fh.read())
    with h5py.File(data, "r") as h5:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                arrays.append((name, np.asarray(obj)))

        h5.visititems(visit)
    return [a for _, a in sorted(arrays, key=lambda t: t[0])]


def compare_trees(a: Path, b: Path, relpaths) -> dict[str, str]:
    """{relpath: reason} for every file that differs between the two trees (or is missing)."""
    problems = {}
    for rel in relpaths:
        fa, fb = Path(a) / rel, Path(b) / rel
        if not fa.exists() or not fb.exists():
            problems[rel] = f"missing: {fa if not fa.exists() else fb}"
            continue
        why = file_difference(fa, fb)
        if why:
            problems[rel] = why
    return problems


def output_files(root: Path, dirs=("results", "resources")) -> list[str]:
    """Relative paths of all files under the given directories (no checkpoints, no README)."""
    out = []
    for d in dirs:
        base = Path(root) / d
        if not base.exists():
            continue
        for p in base.rglob("*"):
            if p.is_file() and p.name != "README.md" and "checkpoints" not in p.parts:
                out.append(str(p.relative_to(root)))
    return sorted(out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make-profile":
        print(make_test_profile(Path(sys.argv[2])) / "config.yaml")
    else:
        sys.exit("usage: cluster_helpers.py make-profile OUT_DIR")
