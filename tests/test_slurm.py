"""The Slurm profile, statically and on a real single-node Slurm.

Static (always run): every GPU rule (train_*, evaluate_*, or declaring a ``gpu`` resource) has
a set-resources entry in profiles/slurm/config.yaml with the site's accelerator partition and
one GPU; partitions/accounts live only in the profile's SITE VALUES block, never in rules; the
download rules are localrules; the generated test profile matches profiles/slurm.

Real Slurm (``test_tiny_workflow_on_real_slurm``): tests/slurm/start-slurm.sh starts Debian's
slurmctld + slurmd + munged (partitions ``cpu`` and ``gpu``, two fake GPUs) inside a network
namespace that has only a loopback interface, i.e. offline compute nodes. The workflow runs in
the two steps of docs/cluster.md: downloads on the "login node" (``--until fetch_*``, no Slurm
job), then the run through the generated Slurm profile. Slurm's own records (slurmd epilog,
jobcomp/filetxt, scontrol) must show every GPU rule in partition ``gpu`` with one GPU allocated
and every other rule in ``cpu``; the outputs must equal a local tiny run of the same targets.
Needs root and apt (as in CI) or an installed Slurm; skips with the reason otherwise.
Targets: for every evaluate_* rule, the first of its outputs in the tiny DAG, which pulls in
one training run and that experiment's CPU rules: one train_ and one evaluate_ job per
experiment, not the whole tiny run (GPU jobs queue for the two fake GPUs, and the plugin's
status polling adds ~10 s per dependency level).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, SNAKEMAKE, copy_workflow, snakemake

sys.path.insert(0, str(Path(__file__).with_name("slurm")))
import cluster_helpers as ch  # noqa: E402

START = Path(__file__).with_name("slurm") / "start-slurm.sh"
PROFILE = REPO / "profiles/slurm/config.yaml"
SLURM_RUN_TIMEOUT = 900  # s, for the Slurm run (measured: ~2-3 min)


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return ch.workflow_rules(copy_workflow(tmp_path_factory.mktemp("rules") / "wf"))


@pytest.fixture(scope="module")
def profile():
    return ch.load_profile(PROFILE)


# ----------------------------------------------------------------------------- static


def test_every_gpu_rule_has_gpu_resources(rules, profile):
    sites = ch.site_partitions(profile)
    set_resources = profile.get("set-resources") or {}
    gpu = ch.gpu_rules(rules)
    assert {r for r in gpu if r.startswith("train_")} and {r for r in gpu if r.startswith("evaluate_")}
    missing = sorted(gpu - set(set_resources))
    assert not missing, f"profiles/slurm/config.yaml set-resources lacks GPU rules {missing}"
    for name in sorted(gpu):
        res = set_resources[name]
        assert res.get("slurm_partition") == sites["gpu"], f"{name}: not in the accelerator partition"
        assert res.get("gpu", 0) >= 1 or "gpu" in str(res.get("gres", "")), f"{name}: no GPU requested"
        assert res.get("cpus_per_gpu", 0) >= 1, f"{name}: cpus_per_gpu missing"
        assert isinstance(res.get("mem_mb"), int) and isinstance(res.get("runtime"), int), name


def test_tensorflow_threads_equal_the_cpus_requested(rules, profile):
    """A GPU job's threads (passed to TensorFlow by its script) are the CPUs it asks Slurm for."""
    threads = profile.get("set-threads") or {}
    for name in sorted(ch.gpu_rules(rules)):
        res = profile["set-resources"][name]
        cpus = res.get("cpus_per_gpu", 0) * max(1, int(res.get("gpu", 1))) or res.get("cpus_per_task")
        assert threads.get(name) == cpus, f"{name}: set-threads {threads.get(name)} != CPUs requested {cpus}"


def test_set_resources_name_existing_rules(rules, profile):
    names = {r["name"] for r in rules}
    stale = sorted(set(profile.get("set-resources") or {}) - names)
    assert not stale, f"set-resources for rules that do not exist: {stale}"
    gpu = ch.gpu_rules(rules)
    sites = ch.site_partitions(profile)
    for name, res in (profile.get("set-resources") or {}).items():
        if name not in gpu:
            assert res.get("slurm_partition", sites["cpu"]) == sites["cpu"], name


def test_default_resources_are_the_cpu_partition(profile):
    sites = ch.site_partitions(profile)
    assert sites["cpu"] != sites["gpu"]
    default = profile["default-resources"]
    assert default["slurm_partition"] == sites["cpu"]
    assert "gpu" not in default and "gres" not in default
    assert isinstance(default["mem_mb"], int) and isinstance(default["runtime"], int)
    assert profile["executor"] == "slurm"
    assert profile["software-deployment-method"] == "conda"
    assert profile["retries"] >= 1 and profile["jobs"] >= 1


def test_partitions_and_accounts_only_in_the_site_block():
    text = PROFILE.read_text()
    _, _, rest = text.partition("\nexecutor:")
    assert rest, "profiles/slurm/config.yaml: the SITE VALUES block must come before `executor:`"
    # outside the SITE VALUES block no partition/account value is written out
    for line in rest.splitlines():
        code = line.split("#", 1)[0]
        assert not re.search(r"slurm_(partition|account)\s*:", code), (
            f"site value outside the site block: {line}"
        )
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for number, line in enumerate(smk.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not re.search(r"slurm_(partition|account)|\bpartition\s*=|\bqos\s*=", code), (
                f"{smk.name}:{number}: cluster-specific value in a rule: {line.strip()}"
            )


def test_download_rules_run_on_the_login_node(rules):
    fetch = [r for r in rules if r["name"].startswith("fetch_")]
    assert fetch
    assert all(r["local"] for r in fetch), [r["name"] for r in fetch if not r["local"]]
    gpu = ch.gpu_rules(rules)
    assert not [r["name"] for r in rules if r["local"] and r["name"] in gpu]


def test_generated_test_profile_follows_profiles_slurm(tmp_path, profile):
    cfg = ch.load_profile(ch.make_test_profile(tmp_path) / "config.yaml")
    sites = ch.site_partitions(profile)
    assert "software-deployment-method" not in cfg
    assert not any(k.startswith("x-") for k in cfg)
    assert cfg["default-resources"]["slurm_partition"] == "cpu"
    assert set(cfg["set-resources"]) == set(profile["set-resources"])
    for name, res in cfg["set-resources"].items():
        real = profile["set-resources"][name]
        want = {sites["cpu"]: "cpu", sites["gpu"]: "gpu"}[real.get("slurm_partition", sites["cpu"])]
        assert res.get("slurm_partition", "cpu") == want
        assert res.get("runtime") == real.get("runtime")
        assert "slurm_account" not in res
    assert cfg["configfile"] == ch.load_profile(REPO / "profiles/tiny/config.yaml")["configfile"]


# ----------------------------------------------------------------------------- real Slurm


def _run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def _foreign_slurm_running() -> bool:
    return any(_run(["pgrep", "-x", name]).returncode == 0 for name in ("slurmctld", "slurmd"))


def _ensure_slurm_installed():
    if os.geteuid() != 0:
        pytest.skip("real Slurm needs root (starts slurmctld/slurmd/munged, writes /etc/slurm)")
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    if not shutil.which("apt-get"):
        pytest.skip("Slurm is not installed and apt-get is not available to install it")
    proc = _run(["bash", str(START), "install"], timeout=900)
    assert proc.returncode == 0, f"installing Slurm failed:\n{proc.stdout}\n{proc.stderr}"


# Loopback only. The second loopback address matters: Slurm resolves its listening address
# with getaddrinfo(AI_ADDRCONFIG), which finds no IPv4 address when 127.0.0.1 is the only one
# (glibc ignores exactly that address), and slurmctld dies with "Address family not supported".
NETNS_SETUP = "ip link set lo up && ip addr add 127.0.0.2/8 dev lo"


class OfflineNamespace:
    """A network namespace with only a loopback interface, kept by a `sleep` process.

    Commands run in it through nsenter; the daemons started there can reach each other
    on 127.0.0.1 and nothing else, like compute nodes without internet access.
    """

    def __init__(self, lifetime: int):
        self.proc = None
        self.prefix: list[str] = []
        if not all(shutil.which(t) for t in ("unshare", "nsenter", "ip")):
            self.reason = "unshare/nsenter/ip missing: running in the host network namespace"
            return
        proc = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", f"{NETNS_SETUP} && echo ready && exec sleep {lifetime}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            proc.wait()
            self.reason = f"no network namespace ({proc.stderr.read().strip()}): host network namespace"
            return
        self.proc = proc
        self.prefix = ["nsenter", f"--net=/proc/{proc.pid}/ns/net"]
        self.reason = None

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def _evaluation_targets(workdir: Path) -> tuple[list[str], list[str], list[str]]:
    """For every evaluate_* rule in the tiny DAG: the first of its outputs (which needs one
    training run and the experiment's data preparation); also the fetch rules of that DAG
    (not every fetch_* rule: the Indian Pines stand-in fallback is not part of it)."""
    proc = snakemake(workdir, "--profile", "profiles/tiny", "--summary", check=True)
    first, fetch = {}, set()
    for line in proc.stdout.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) > 2 and cols[2].startswith("evaluate_"):
            first.setdefault(cols[2], cols[0])
        if len(cols) > 2 and cols[2].startswith("fetch_"):
            fetch.add(cols[2])
    return sorted(set(first.values())), sorted(first), sorted(fetch)


@pytest.fixture(scope="session")
def slurm_available():
    """Session-scoped so that the skip comes before the (session-scoped) tiny_run."""
    _ensure_slurm_installed()
    if _foreign_slurm_running():
        pytest.skip("another slurmctld/slurmd is running on this machine; not touching it")


def test_tiny_workflow_on_real_slurm(tmp_path, rules, slurm_available, tiny_run):
    """``tiny_run`` (conftest: the whole tiny workflow run locally, shared with the workflow
    tests) is the reference; both it and the Slurm jobs train with 1 thread (tiny profile)."""
    tic = time.monotonic()
    gpu = ch.gpu_rules(rules)

    on_slurm = copy_workflow(tmp_path / "slurm")
    profile_dir = ch.make_test_profile(tmp_path / "profile")
    targets, evaluate_rules, fetch_rules = _evaluation_targets(on_slurm)
    assert fetch_rules == ["fetch_indian_pines", "fetch_mnist", "fetch_si650"], fetch_rules
    experiments = {re.sub(r"^(train|evaluate)_", "", r) for r in gpu if r.startswith(("train_", "evaluate_"))}
    assert {f"evaluate_{exp}" for exp in experiments} == set(evaluate_rules), evaluate_rules

    base = tmp_path / "slurm-base"
    env = {**os.environ, "SLURM_BASE": str(base), "TF_CPP_MIN_LOG_LEVEL": "2"}
    ns = OfflineNamespace(lifetime=SLURM_RUN_TIMEOUT + 300)
    started = False
    try:
        proc = _run([*ns.prefix, "bash", str(START), "start"], env=env, timeout=120)
        started = True
        assert proc.returncode == 0, f"start-slurm.sh failed:\n{proc.stderr}"
        up = time.monotonic() - tic

        def in_cluster(*cmd, timeout=120):
            return _run([*ns.prefix, *cmd], env=env, timeout=timeout, cwd=on_slurm)

        # step 1, login node: downloads only; no Slurm job
        step1 = in_cluster(
            SNAKEMAKE, *targets, "--profile", str(profile_dir), "--until", *fetch_rules, timeout=600
        )
        assert step1.returncode == 0, step1.stderr[-4000:]
        assert ch.slurm_jobs(base, scontrol=[*ns.prefix, "scontrol"]) == {}, "step 1 submitted Slurm jobs"
        assert list((on_slurm / "resources").glob("*/manifest.json"))
        dry = in_cluster(SNAKEMAKE, "--profile", str(profile_dir), "-n", *targets)
        assert dry.returncode == 0 and not re.search(r"^rule fetch_", dry.stdout, re.M), dry.stdout[-3000:]

        # step 2: the run; every job through Slurm on the offline "compute node"
        t_run = time.monotonic()
        run = in_cluster(
            "timeout", "-s", "INT", "-k", "30", str(SLURM_RUN_TIMEOUT),
            SNAKEMAKE, "--profile", str(profile_dir), "--verbose", *targets,
            timeout=SLURM_RUN_TIMEOUT + 60,
        )  # fmt: skip
        run_seconds = time.monotonic() - t_run
        (tmp_path / "slurm-run.log").write_text(run.stdout + run.stderr)
        assert run.returncode == 0, f"Slurm run failed ({run.returncode}):\n{run.stderr[-6000:]}"

        jobs = ch.slurm_jobs(base, scontrol=[*ns.prefix, "scontrol"])
    finally:
        if started:
            stop = _run([*ns.prefix, "bash", str(START), "stop"], env=env, timeout=120)
            print(stop.stderr.strip())
        ns.close()

    # Slurm's records: partitions and GPUs per rule
    assert jobs, "no Slurm job recorded"
    ran = {}
    for job_id, rec in sorted(jobs.items(), key=lambda kv: int(kv[0])):
        rule = rec["rule"]
        assert rule, f"job {job_id} without a snakemake rule comment: {rec}"
        assert rec.get("jobcomp.JobState") == "COMPLETED", (job_id, rule, rec.get("jobcomp.JobState"))
        partition = rec["epilog.Partition"]
        assert partition == rec.get("jobcomp.Partition", partition)
        if rule in gpu:
            assert partition == "gpu", (job_id, rule, partition)
            # one GPU allocated: a single index (the node has 2 fake GPUs)
            assert re.fullmatch(r"\d", rec["epilog.Gpus"]), (job_id, rule, rec)
            assert rec["epilog.CudaVisibleDevices"] == rec["epilog.Gpus"], (job_id, rule, rec)
            assert rec.get("scontrol.TresPerJob", "gres:gpu:1") == "gres:gpu:1", rec
        else:
            assert partition == "cpu", (job_id, rule, partition)
            assert rec["epilog.Gpus"] == "", (job_id, rule, rec)
        ran.setdefault(rule, []).append(job_id)
    assert not [r for r in ran if r.startswith("fetch_")], "a download rule ran on a compute node"
    for exp in experiments:  # at least one train_ and one evaluate_ job of each experiment
        assert {f"train_{exp}", f"evaluate_{exp}"} <= set(ran), (exp, sorted(ran))
    assert set(ran) - gpu, "no CPU rule ran through Slurm"

    # the same outputs as the local tiny run
    files = ch.output_files(on_slurm)
    assert set(files) <= set(ch.output_files(tiny_run)), sorted(set(files) - set(ch.output_files(tiny_run)))
    differences = ch.compare_trees(on_slurm, tiny_run, files)
    assert not differences, differences

    sbatch = re.findall(r"sbatch call: (.*)", run.stdout + run.stderr)
    example = {}
    for line in sbatch:
        rule = re.search(r"--comment '?rule_(\w+?)(?:_wildcards_\S*)?'? ", line)
        kind = "gpu" if rule and rule.group(1) in gpu else "cpu"
        example.setdefault(kind, re.sub(r' --wrap=".*', " --wrap=...", line))
    summary = (
        f"real Slurm: {len(jobs)} jobs ({', '.join(f'{r} x{len(v)}' for r, v in sorted(ran.items()))}); "
        f"cluster up after {up:.1f}s, Slurm run {run_seconds:.0f}s, test {time.monotonic() - tic:.0f}s; "
        f"{len(files)} outputs equal to the local run; network: {ns.reason or 'offline namespace'}\n"
        f"GPU sbatch: {example.get('gpu')}\nCPU sbatch: {example.get('cpu')}"
    )
    (tmp_path / "summary.txt").write_text(summary)
    print(summary)
