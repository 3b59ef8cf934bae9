"""The Slurm profile, statically and on a real single-node Slurm.

Static (always run): every GPU rule (train_*, evaluate_*, or declaring a ``gpu`` resource) has
a set-resources entry in profiles/slurm/config.yaml with the site's accelerator partition and
one GPU; partitions/accounts live only in the profile's SITE VALUES block, never in rules; the
download rules are localrules; the generated test profile is profiles/slurm unchanged apart
from the CPU caps of the 2-core node and conda.

Real Slurm (module fixture ``cluster``): tests/slurm/start-slurm.sh starts Debian's slurmctld,
slurmd, slurmdbd (MariaDB: ``sacct`` works) and munged inside a network namespace that has
only a loopback interface (offline compute nodes), with the partition and account names of
the profile's site block, typed fake GPUs (``gpu:fake``) and a job_submit filter that rejects
jobs without an account and GPU requests outside the GPU partition. The workflow runs in the
two steps of docs/cluster.md (downloads on the "login node", then the run) for the targets of
conftest's ``tiny_evaluation_run`` (one training + evaluation per experiment), which is the
local reference. In that one run (fixture ``faulted_run``) every training waits after epoch 1
(``DLREPRO_FAULT=PAUSE@1:<experiment>``) and:

* the MNIST training is cancelled (``scancel``): Slurm state CANCELLED, retried, resumed;
* the sentiment training's first attempt (submitted with the profile's attempt-dependent
  runtime, 20 then 30 minutes) has its limit lowered to 1 minute while it waits
  (``scontrol update TimeLimit=1``): TIMEOUT, retried with the second attempt's runtime, resumed;
* the Indian Pines training is requeued (``scontrol requeue``, what a preemption with
  PreemptMode=REQUEUE does): the same job id runs again and resumes;

and the workflow must still complete with outputs equal to the local run. The cluster's
accounting is stock (no job comments in sacct): every job's rule is read from its submit line,
with docs/cluster.md's command. Two more runs must end with one error line before any job is
submitted: a profile without the account (refused by the site's filter; the line names the
rules of the run and its profile) and a command-line ``--set-resources`` (which would drop GPU
routing).
Needs root and apt (as in CI) or an installed Slurm; skips with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO, SNAKEMAKE, copy_workflow, evaluation_targets

sys.path.insert(0, str(Path(__file__).with_name("slurm")))
import cluster_helpers as ch  # noqa: E402
from cluster import SACCT_RULES, START, TABLE_FIELDS, Cluster, drive_faults, run  # noqa: E402

PROFILE = REPO / "profiles/slurm/config.yaml"
SLURM_RUN_TIMEOUT = 900  # s, for the faulted Slurm run
# what happens to each experiment's training in the faulted run (see the module docstring)
TIME_LIMITED = "train_sentiment"
FAULTS = {
    "mnist": ("scancel", "train_mnist"),
    "sentiment": ("timelimit", TIME_LIMITED),
    "indian_pines": ("requeue", "train_indian_pines"),
}


def REAL_SLURM(test):  # noqa: N802 (a decorator, like the marks it applies)
    """Marks of the real-cluster tests: deselect them with -m "not slurm"."""
    return pytest.mark.workflow(pytest.mark.slurm(test))


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
    assert "software-deployment-method" not in cfg
    assert not any(k.startswith("x-") for k in cfg)
    for key in ("executor", "retries", "slurm-status-command", "slurm-requeue", "jobs", "local-cores"):
        assert cfg[key] == profile[key], key
    assert cfg["default-resources"] == profile["default-resources"]  # partition + account unchanged
    assert set(cfg["set-resources"]) == set(profile["set-resources"])
    for name, res in cfg["set-resources"].items():
        real = profile["set-resources"][name]
        for key in ("slurm_partition", "slurm_account", "runtime", "slurm_extra", "gpu"):
            assert res.get(key) == real.get(key), (name, key)
        assert res["cpus_per_gpu"] == 1 == cfg["set-threads"][name]
    assert cfg["configfile"] == ch.load_profile(REPO / "profiles/tiny/config.yaml")["configfile"]
    without = ch.load_profile(ch.make_test_profile(tmp_path / "b", account=False) / "config.yaml")
    assert "slurm_account" not in without["default-resources"]
    assert not [r for r, res in without["set-resources"].items() if "slurm_account" in res]


def test_profile_survives_cancellation_limits_and_preemption(profile):
    """The settings behind docs/cluster.md's cancellation / time-limit / preemption sections."""
    assert profile["slurm-status-command"] == "squeue"  # sacct's `CANCELLED by N` hangs plugin 2.8.0
    assert profile["slurm-requeue"] is True and profile["retries"] >= 1
    for name in profile["set-resources"]:
        extra = profile["set-resources"][name].get("slurm_extra", "")
        signal = re.search(r"--signal=(?:B:)?(TERM|USR1)@(\d+)", extra)
        assert signal and not extra.startswith("--signal=B:"), (name, extra)  # to the job steps
        assert int(signal.group(2)) < 60 * profile["set-resources"][name]["runtime"], name
    text = PROFILE.read_text()
    site = text.partition("\nexecutor:")[0]
    for slot in ("qos:", "gpu_model:", "constraint:", "slurm-reservation:", "cpus_per_gpu:", "local-cores:"):
        assert slot in site, f"SITE VALUES block lacks a `{slot}` slot"
    for choice in ("conda", "env-modules", "none"):
        assert re.search(rf"^#\s+{choice}\s+\S", site, re.M), (
            f"software deployment choice {choice} not explained"
        )
    assert re.search(r"^software-deployment-method: conda$", site, re.M)


# ----------------------------------------------------------------------------- real Slurm


def _foreign_slurm_running() -> bool:
    return any(run(["pgrep", "-x", name]).returncode == 0 for name in ("slurmctld", "slurmd", "slurmdbd"))


def _ensure_slurm_installed():
    if os.geteuid() != 0:
        pytest.skip("real Slurm needs root (starts slurmctld/slurmd/slurmdbd/munged, writes /etc/slurm)")
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "slurmdbd", "mariadbd", "sbatch", "munged")):
        return
    if not shutil.which("apt-get"):
        pytest.skip("Slurm is not installed and apt-get is not available to install it")
    proc = run(["bash", str(START), "install"], timeout=900)
    if proc.returncode != 0:
        pytest.skip(f"installing Slurm with apt-get failed (offline?): {proc.stderr.strip()[-300:]}")


@pytest.fixture(scope="session")
def slurm_available():
    """Session-scoped so that the skip comes before the (session-scoped) local reference run."""
    _ensure_slurm_installed()
    if _foreign_slurm_running():
        pytest.skip("another slurmctld/slurmd/slurmdbd is running on this machine; not touching it")


@pytest.fixture(scope="module")
def cluster(slurm_available, tmp_path_factory, profile):
    c = Cluster(
        tmp_path_factory.mktemp("slurm-base"),
        ch.site_partitions(profile),
        ch.site_accounts(profile),
        lifetime=SLURM_RUN_TIMEOUT + 1200,
    )
    try:
        print(c.start())
        yield c
    finally:
        print(c.stop())


def _rule_log(workdir: Path, experiment: str) -> str:
    logs = sorted((workdir / "logs" / experiment).glob("train_*.log"))
    assert len(logs) == 1, logs
    return logs[0].read_text()


@pytest.fixture(scope="module")
def faulted_run(slurm_available, cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slurm-run")
    tic = time.monotonic()
    workdir = copy_workflow(tmp / "wf")
    targets, fetch = evaluation_targets(workdir)
    assert fetch == ["fetch_indian_pines", "fetch_mnist", "fetch_si650"], fetch
    # the time-limited training: a runtime per attempt, and no warning signal (it would come at
    # once when drive_faults lowers the limit to 1 minute): Slurm's limit itself stops it
    limit = {TIME_LIMITED: {"runtime": "20 if attempt == 1 else 30", "slurm_extra": None}}
    profile_dir = ch.make_test_profile(tmp / "profile", set_resources=limit)

    # step 1, login node: downloads only; no Slurm job
    step1 = cluster.run(
        SNAKEMAKE, *targets, "--profile", str(profile_dir), "--until", *fetch, timeout=600, cwd=workdir
    )
    assert step1.returncode == 0, step1.stderr[-4000:]
    # the pre-flight asks only for the jobs of the run: the downloads are local rules
    assert "Slurm pre-flight: no job of this run goes to Slurm" in step1.stderr, step1.stderr[-2000:]
    assert cluster.jobs() == [], "step 1 submitted Slurm jobs"

    # step 2: every training waits after epoch 1; drive_faults cancels, time-limits, requeues them
    experiments = ("mnist", "sentiment", "indian_pines")
    fault = ",".join(f"PAUSE@1:results/{exp}/" for exp in experiments)
    t_run = time.monotonic()
    proc = cluster.popen(
        "timeout", "-s", "INT", "-k", "30", str(SLURM_RUN_TIMEOUT),
        SNAKEMAKE, "--profile", str(profile_dir), "--verbose", *targets,
        cwd=workdir, env={"DLREPRO_FAULT": fault}, log=tmp / "slurm-run.log",
    )  # fmt: skip
    try:
        actions = drive_faults(cluster, workdir, proc, FAULTS, timeout=SLURM_RUN_TIMEOUT)
        rc = proc.wait(timeout=SLURM_RUN_TIMEOUT + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.log_handle.close()
    seconds = time.monotonic() - t_run
    table = cluster.sacct(TABLE_FIELDS, parsable=False)
    sacct_rules = cluster.sacct_rules()
    (tmp / "sacct.txt").write_text(f"{table}\n{sacct_rules}")
    print(f"sacct of the faulted run ({tmp / 'sacct.txt'}):\n{table}\n{SACCT_RULES}:\n{sacct_rules}")
    return SimpleNamespace(
        workdir=workdir,
        targets=targets,
        rc=rc,
        log=(tmp / "slurm-run.log").read_text(),
        jobs=cluster.jobs(),
        actions=actions,
        sacct=table,
        sacct_rules=sacct_rules,
        seconds=seconds,
        total=time.monotonic() - tic,
        cluster_up=cluster.up_seconds,
    )


def _runs(faulted_run, rule: str) -> list[dict]:
    return [j for j in faulted_run.jobs if j["rule"] == rule]


@REAL_SLURM
def test_faulted_run_completes_with_the_local_outputs(faulted_run, tiny_evaluation_run):
    """Happy path of every other job, and the three disturbed trainings: same outputs."""
    reference, targets = tiny_evaluation_run
    assert faulted_run.targets == targets
    assert faulted_run.rc == 0, f"Slurm run failed ({faulted_run.rc}):\n{faulted_run.log[-6000:]}"
    files = ch.output_files(faulted_run.workdir)
    assert set(files) == set(ch.output_files(reference)), set(files) ^ set(ch.output_files(reference))
    differences = ch.compare_trees(faulted_run.workdir, reference, files)
    assert not differences, differences
    assert sorted(faulted_run.actions) == sorted(FAULTS), faulted_run.actions
    print(
        f"faulted Slurm run: {len(faulted_run.jobs)} job runs, cluster up after {faulted_run.cluster_up:.1f}s, "
        f"Slurm run {faulted_run.seconds:.0f}s, fixture {faulted_run.total:.0f}s; {len(files)} outputs equal "
        f"to the local run; actions {faulted_run.actions}"
    )


@REAL_SLURM
def test_jobs_go_where_the_site_values_say(faulted_run, rules, profile):
    gpu, sites, accounts = ch.gpu_rules(rules), ch.site_partitions(profile), ch.site_accounts(profile)
    ran = set()
    for job in faulted_run.jobs:
        rule = job["rule"]
        assert rule, f"job without a snakemake rule in its submit line: {job}"
        assert job["Account"] in accounts, job
        if rule in gpu:
            assert job["Partition"] == sites["gpu"], job
            assert "gres/gpu=1" in job["AllocTRES"] and "gres/gpu:fake=1" in job["AllocTRES"], job
        else:
            assert job["Partition"] == sites["cpu"] and "gres/gpu" not in job["AllocTRES"], job
        ran.add(rule)
    assert not [r for r in ran if r.startswith("fetch_")], "a download rule ran on a compute node"
    for exp in ("mnist", "sentiment", "indian_pines"):
        assert {f"train_{exp}", f"evaluate_{exp}"} <= ran, (exp, sorted(ran))
    assert ran - gpu, "no CPU rule ran through Slurm"
    sbatch = [ln for ln in faulted_run.log.splitlines() if "sbatch call:" in ln and "rule_train_mnist" in ln]
    assert sbatch and all("--requeue" in ln and "--signal=TERM@180" in ln for ln in sbatch), sbatch


@REAL_SLURM
def test_every_job_names_its_rule_in_sacct_default_fields(faulted_run, cluster):
    """A stock site stores no job comment (AccountingStoreFlags unset, like the test cluster)
    and the job name is the run's id; the submit line, which slurmdbd always stores, names
    the rule: docs/cluster.md's command prints it for every job."""
    config = cluster.run("scontrol", "show", "config").stdout
    assert re.search(r"^AccountingStoreFlags\s*=\s*\(null\)", config, re.M), "not a stock accounting setup"
    assert faulted_run.jobs and all(j["Comment"] == "" for j in faulted_run.jobs), faulted_run.jobs
    assert len({j["JobName"] for j in faulted_run.jobs}) == 1, "job name is not the run's id"
    assert SACCT_RULES in (REPO / "docs/cluster.md").read_text()
    rows = [ln.split("|") for ln in faulted_run.sacct_rules.splitlines()[1:]]
    assert [r[0] for r in rows] == [j["JobID"] for j in faulted_run.jobs], faulted_run.sacct_rules
    for row, job in zip(rows, faulted_run.jobs, strict=True):
        assert len(row) == 6 and re.fullmatch(rf"rule_{job['rule']}(_wildcards_\S+)?", row[5]), (row, job)
    assert {j["rule"] for j in faulted_run.jobs} >= {"train_mnist", "evaluate_mnist", "train_sentiment"}


@REAL_SLURM
def test_scancel_of_a_training_is_retried_and_resumed(faulted_run):
    action, job_id = faulted_run.actions["mnist"]
    runs = _runs(faulted_run, "train_mnist")
    states = [j["State"].split()[0] for j in runs]
    assert states[0] == "CANCELLED" and states[-1] == "COMPLETED" and len(runs) == 2, runs
    assert runs[0]["JobID"] == job_id and action == "scancel"
    assert f"SLURM-job '{job_id}' failed, SLURM status is: 'CANCELLED'" in faulted_run.log
    log = _rule_log(faulted_run.workdir, "mnist")
    assert "training stopped by SIGTERM after epoch 1 of 3" in log
    assert "==== attempt 2" in log and re.search(r"resuming from \S+ after epoch 1 of 3", log), log[-3000:]


@REAL_SLURM
def test_time_limit_mid_training_resumes_from_the_checkpoint(faulted_run, tiny_evaluation_run):
    action, job_id = faulted_run.actions["sentiment"]
    runs = _runs(faulted_run, TIME_LIMITED)
    assert [j["State"] for j in runs] == ["TIMEOUT", "COMPLETED"], runs
    assert action == "timelimit" and runs[0]["JobID"] == job_id, (action, runs)
    # the limit lowered while it waited; the retry asked for the second attempt's runtime
    assert runs[0]["Timelimit"] == "00:01:00" and runs[1]["Timelimit"] == "00:30:00", runs
    sbatch = [
        ln for ln in faulted_run.log.splitlines() if "sbatch call:" in ln and f"rule_{TIME_LIMITED}" in ln
    ]
    assert [re.search(r" -t (\S+)", ln).group(1) for ln in sbatch] == ["20", "30"], sbatch
    log = _rule_log(faulted_run.workdir, "sentiment")
    assert "training stopped by SIGTERM after epoch 1 of" in log
    assert re.search(r"resuming from \S+ after epoch 1 of \d+", log), log[-3000:]
    # the same final metrics as the uninterrupted local run
    reference, _ = tiny_evaluation_run
    metrics = sorted(
        p.relative_to(reference) for p in (reference / "results/sentiment").rglob("metrics.json")
    )
    assert metrics and not ch.compare_trees(faulted_run.workdir, reference, metrics)


@REAL_SLURM
def test_requeued_training_resumes_under_the_same_job_id(faulted_run):
    """scontrol requeue: what Slurm does to a job preempted with PreemptMode=REQUEUE."""
    _, job_id = faulted_run.actions["indian_pines"]
    runs = _runs(faulted_run, "train_indian_pines")
    assert [j["JobID"] for j in runs] == [job_id, job_id], runs
    assert [j["State"] for j in runs] == ["REQUEUED", "COMPLETED"], runs
    log = _rule_log(faulted_run.workdir, "indian_pines")
    assert re.search(r"resuming from \S+ after epoch 1 of \d+", log), log[-3000:]


def _refused_run(cluster, tmp_path, profile_dir, *extra):
    workdir = copy_workflow(tmp_path / "wf")
    before = len(cluster.jobs())
    proc = cluster.run(
        "timeout", "-s", "INT", "300", SNAKEMAKE, "--profile", str(profile_dir),
        "results/mnist/mlp/e20/seed1/metrics.json", *extra, timeout=360, cwd=workdir,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert len(cluster.jobs()) == before, "a job was submitted"
    assert "Trying to restart" not in out and "sbatch call" not in out, out[-3000:]
    return out


@REAL_SLURM
def test_submission_refused_by_policy_is_one_error_without_retries(cluster, tmp_path):
    profile_dir = ch.make_test_profile(tmp_path / "p", account=False)
    out = _refused_run(cluster, tmp_path, profile_dir)
    lines = [ln for ln in out.splitlines() if "Slurm refuses" in ln]
    assert len(lines) == 1, out[-3000:]
    assert "job rejected by site policy: no account given" in lines[0] and "fix `slurm_account`" in lines[0]
    # one MNIST evaluation: the rules of its jobs only, and the profile the run was started with
    assert lines[0].startswith("Slurm refuses the jobs of evaluate_mnist, train_mnist ("), lines[0]
    assert f" {profile_dir / 'config.yaml'} (checked with: " in lines[0], lines[0]
    print(lines[0])


@REAL_SLURM
def test_command_line_set_resources_cannot_drop_gpu_routing(cluster, tmp_path):
    out = _refused_run(
        cluster, tmp_path, ch.make_test_profile(tmp_path / "p"), "--set-resources", "train_mnist:runtime=5"
    )
    assert "set-resources has no partition for the GPU rule(s) evaluate_indian_pines" in out, out[-3000:]
