"""dlrepro.slurm: the pre-flight checks of a Slurm run (Snakefile onstart).

The sbatch outputs below are what Slurm 22.05 (tests/slurm/start-slurm.sh, slurmdbd with
enforced associations and the account-requiring job_submit.lua) printed for
``sbatch --test-only``; tests/test_slurm.py runs the same checks against the real cluster.
One test runs Snakemake itself with a stand-in ``sbatch`` (a site's account filter) on PATH:
a copied profile and a run of one MNIST evaluation, as a user on another site would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import SNAKEMAKE
from dlrepro import slurm
from dlrepro.errors import ConfigError

LUA_NO_ACCOUNT = (
    "sbatch: error: job rejected by site policy: no account given, every job needs -A <project> (my-project)\n"
    "allocation failure: Unspecified error\n"
)
BAD_ACCOUNT = "allocation failure: Invalid account or account/partition combination specified\n"
BAD_PARTITION = "sbatch: error: invalid partition specified: nopart\nallocation failure: Invalid partition name specified\n"
TOO_BIG = "allocation failure: Requested node configuration is not available\n"
ACCEPTED = "sbatch: Job 2 to start at 2026-12-02T14:23:47 using 1 processors on nodes vm in partition batch\n"

CPU = {"slurm_partition": "batch", "slurm_account": "my-project", "mem_mb": 2000, "runtime": 30}
GPU = {**CPU, "slurm_partition": "booster", "gpu": 1, "cpus_per_gpu": 12, "mem_mb": 8000, "runtime": 60}


class Sbatch:
    """Records the sbatch calls; answers with canned Slurm output per partition."""

    def __init__(self, answers: dict[str, tuple[int, str]]):
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, args, **kw):
        self.calls.append(list(args))
        part = args[args.index("-p") + 1] if "-p" in args else None
        rc, out = self.answers.get(part, (0, ACCEPTED))
        return subprocess.CompletedProcess(args, rc, stdout="", stderr=out)


def test_effective_resources_layer_like_snakemake():
    res = slurm.effective_resources(
        {"mem_mb": 4000, "gpu": 1}, CPU, {"slurm_partition": "booster", "runtime": 5}
    )
    assert res == {
        "slurm_partition": "booster",
        "slurm_account": "my-project",
        "mem_mb": 4000,
        "runtime": 5,
        "gpu": 1,
    }
    # expressions that need a job (callables) are left out, not guessed
    assert "mem_mb" not in slurm.effective_resources({"mem_mb": lambda wildcards: 1}, {}, {})


def test_snakemake_resource_objects_are_evaluated():
    from snakemake.resources import Resource

    assert slurm.plain(Resource.from_cli_expression("slurm_partition", "booster")) == "booster"
    assert slurm.plain(Resource.from_cli_expression("runtime", "60")) == 60
    assert slurm.plain(Resource.from_cli_expression("runtime", "10 * attempt")) == 10
    assert slurm.plain(Resource.from_cli_expression("mem_mb", "2 * input.size_mb")) is None


def test_one_sbatch_test_per_distinct_request_with_largest_limits():
    requests = {
        "prepare_a": CPU,
        "prepare_b": {**CPU, "runtime": 90, "mem_mb": 1000},
        "train_x": GPU,
        "evaluate_x": {**GPU, "runtime": 15},
    }
    sbatch = Sbatch({})
    assert slurm.check_submissions(requests, run=sbatch) == 2
    cpu_call, gpu_call = sorted(sbatch.calls, key=lambda a: a[a.index("-p") + 1])
    assert cpu_call[:2] == ["sbatch", "--test-only"] and cpu_call[-2:] == ["--wrap", "true"]
    assert cpu_call[cpu_call.index("-t") + 1] == "90" and cpu_call[cpu_call.index("--mem") + 1] == "2000"
    assert "--gpus=1" in gpu_call and "--cpus-per-gpu=12" in gpu_call and "-A" in gpu_call
    assert gpu_call[gpu_call.index("-t") + 1] == "60"


def test_gpu_model_qos_constraint_reservation_reach_sbatch():
    args = slurm.sbatch_test_args(
        {**GPU, "gpu_model": "a100", "constraint": "ib", "qos": "normal"}, {"reservation": "course"}
    )
    assert "--gpus=a100:1" in args and "--qos=normal" in args and "--reservation=course" in args
    assert args[args.index("-C") + 1] == "ib"
    assert slurm.sbatch_test_args({"gres": "gpu:2", "gpu": 1})[3:] == [
        "dlrepro-preflight",
        "--gres=gpu:2",
        "--wrap",
        "true",
    ]


@pytest.mark.parametrize(
    ("output", "key", "shown"),
    [
        (LUA_NO_ACCOUNT, "slurm_account", "job rejected by site policy: no account given"),
        (BAD_ACCOUNT, "slurm_account", "Invalid account or account/partition combination specified"),
        (BAD_PARTITION, "slurm_partition", "invalid partition specified: nopart"),
        (TOO_BIG, "mem_mb / cpus_per_gpu / gpu", "Requested node configuration is not available"),
    ],
)
def test_refusal_is_one_line_naming_the_key(output, key, shown):
    sbatch = Sbatch({"booster": (1, output)})
    with pytest.raises(ConfigError) as exc:
        slurm.check_submissions({"prepare": CPU, "train_x": GPU, "evaluate_x": GPU}, run=sbatch)
    message = str(exc.value)
    assert "\n" not in message
    assert f"fix `{key}`" in message and shown in message
    assert (
        "Slurm refuses the jobs of evaluate_x, train_x (slurm_partition=booster, slurm_account=my-project)"
        in message
    )
    assert "profiles/slurm/config.yaml" in message and "sbatch --test-only" in message
    place = "SITE VALUES block" if key.startswith("slurm_") else "set-resources"
    assert place in message


def test_accepted_requests_pass_and_sbatch_missing_is_one_line():
    assert slurm.check_submissions({"prepare": CPU}, run=Sbatch({})) == 1

    def missing(args, **kw):
        raise FileNotFoundError(2, "No such file or directory", "sbatch")

    with pytest.raises(
        ConfigError, match=r"^cannot ask Slurm whether it accepts the jobs: sbatch --test-only"
    ):
        slurm.check_submissions({"prepare": CPU}, run=missing)


def test_lost_gpu_routing_is_refused():
    slurm.check_gpu_routing({"train_x"}, {"train_x": {"slurm_partition": "booster"}})
    # what a command-line --set-resources train_x:runtime=5 leaves of the profile's block
    with pytest.raises(
        ConfigError, match=r"no partition for the GPU rule\(s\) evaluate_x, train_x; a command-line"
    ):
        slurm.check_gpu_routing({"train_x", "evaluate_x"}, {"train_x": {"runtime": 5}})


def test_threads_capped_by_cores_are_refused():
    slurm.check_threads({"train_x": 12}, 1024)
    slurm.check_threads({"train_x": 12}, None)
    with pytest.raises(
        ConfigError, match=r"set-threads of train_x \(12\) exceeds --cores 2.*--workflow-profile"
    ):
        slurm.check_threads({"train_x": 12, "prepare": 1}, 2)


def test_sbatch_error_prefers_the_filter_message():
    assert slurm.sbatch_error(LUA_NO_ACCOUNT).startswith("job rejected by site policy")
    assert slurm.sbatch_error(BAD_ACCOUNT) == BAD_ACCOUNT.strip()
    assert slurm.sbatch_error("") == "no output"


# ----------------------------------------------------------------------------- the run in use


def _site_profile(directory: Path, text: str = "# ==== SITE VALUES ====\nexecutor: slurm\n") -> Path:
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(text)
    return directory / "config.yaml"


def test_refusal_names_the_profile_in_use(tmp_path):
    mine = _site_profile(tmp_path / "profiles/mysite")
    sbatch = Sbatch({"booster": (1, LUA_NO_ACCOUNT)})
    with pytest.raises(ConfigError) as exc:
        slurm.check_submissions({"train_x": GPU}, run=sbatch, profile=str(mine))
    message = str(exc.value)
    assert f"fix `slurm_account` in the SITE VALUES block of {mine} (checked with" in message
    assert "profiles/slurm" not in message
    # a profile without the site block is named as it is
    plain = _site_profile(tmp_path / "p", "executor: slurm\n")
    with pytest.raises(ConfigError, match=rf"fix `slurm_account` in {plain} \(checked"):
        slurm.check_submissions({"train_x": GPU}, run=sbatch, profile=str(plain))


def test_profiles_in_use_are_read_from_the_command_line(tmp_path):
    _site_profile(tmp_path / "profiles/mysite")
    _site_profile(tmp_path / "profiles/default", "cores: all\n")
    other = _site_profile(tmp_path / "elsewhere/p")
    mine = tmp_path / "profiles/mysite/config.yaml"
    default = tmp_path / "profiles/default/config.yaml"

    def used(*args, env=None):
        return slurm.profiles_in_use(["/venv/bin/snakemake", *args], env or {}, tmp_path)

    assert used("--workflow-profile", "profiles/mysite", "results/x") == [mine]
    assert used("results/x", "--profile", "profiles/mysite") == [mine, default]
    assert used("--prof", "profiles/mysite", "--workflow-profile", "none") == [mine]
    assert used(f"--profile={other.parent}") == [other, default]
    assert used(env={"SNAKEMAKE_PROFILE": str(other.parent)}) == [other, default]
    assert slurm.profiles_in_use(["pytest", "--profile", "profiles/mysite"], {}, tmp_path) == []
    # the one named: the last profile with Slurm values, relative to where snakemake started
    assert slurm.site_profile([mine, default], tmp_path) == "profiles/mysite/config.yaml"
    assert slurm.site_profile([other, default], tmp_path / "profiles") == str(other)
    assert slurm.site_profile([default], tmp_path) == slurm.PROFILE


class Job(SimpleNamespace):
    __hash__ = object.__hash__  # jobs live in sets, as Snakemake's do


def _workflow(rules: dict[str, dict], run: list[str], local=(), waiting: dict[str, str] | None = None):
    """A Snakemake workflow object as preflight reads it: every rule, and a DAG whose jobs
    that need to run are those of ``run``; ``waiting`` maps a checkpoint of the run to the
    rule of the run's job that waits for it."""
    jobs = {r: Job(rule=SimpleNamespace(name=r), is_local=r in local) for r in run}
    waiting = waiting or {}
    return SimpleNamespace(
        executor_plugin=SimpleNamespace(name="slurm"),
        dryrun=False,
        workdir_init=None,
        _localrules=set(local),
        rules=[SimpleNamespace(name=n, resources=r, norun=False) for n, r in rules.items()],
        resource_settings=SimpleNamespace(
            default_resources={"slurm_partition": "batch", "mem_mb": 2000, "runtime": 30},
            overwrite_resources={n: r for n, r in rules.items() if r},
            overwrite_threads={},
            cores=1024,
        ),
        executor_settings=None,
        dag=SimpleNamespace(
            needrun_jobs=lambda: iter(jobs.values()),
            checkpoint_jobs={jobs[c] for c in waiting},
            depending={jobs[c]: {jobs[w]: set()} if w in jobs else {} for c, w in waiting.items()},
        ),
    )


GPU_SET = {"slurm_partition": "booster", "gpu": 1, "runtime": 60, "mem_mb": 8000}
ALL_RULES = {
    "baseline_sentiment": {},
    "convert_indian_pines": {},
    "normalise_mnist": {},
    "split_mnist": {},
    "fetch_mnist": {},
    "train_mnist": GPU_SET,
    "evaluate_mnist": {**GPU_SET, "runtime": 15},
    "train_indian_pines": {**GPU_SET, "runtime": 240},
    "evaluate_indian_pines": {**GPU_SET, "runtime": 30},
}
ONE_MNIST_JOB = [
    "fetch_mnist",
    "normalise_mnist",
    "normalise_mnist",
    "split_mnist",
    "train_mnist",
    "evaluate_mnist",
]


def test_only_the_rules_of_the_run_are_asked_and_named():
    """A run of one MNIST evaluation: the refusal names its rules, not every rule of the workflow."""
    wf = _workflow(ALL_RULES, ONE_MNIST_JOB, local={"fetch_mnist"})
    sbatch = Sbatch({"batch": (1, LUA_NO_ACCOUNT), "booster": (1, LUA_NO_ACCOUNT)})
    with pytest.raises(ConfigError) as exc:
        slurm.preflight(wf, run=sbatch, argv=["pytest"])
    message = str(exc.value)
    assert message.startswith(
        "Slurm refuses the jobs of evaluate_mnist, train_mnist (slurm_partition=booster)"
    )
    assert "-t 60 " in message  # the largest runtime of the run's GPU rules, not Indian Pines' 240

    accepted = Sbatch({})
    assert slurm.preflight(wf, run=accepted, argv=["pytest"]) == (
        "Slurm pre-flight: 2 distinct job request(s) accepted by sbatch --test-only"
    )
    assert {tuple(c[c.index("-p") + 1 : c.index("-p") + 2]) for c in accepted.calls} == {
        ("batch",),
        ("booster",),
    }
    # a run of local jobs only (downloads) asks nothing
    only_local = _workflow(ALL_RULES, ["fetch_mnist"], local={"fetch_mnist"})
    assert slurm.preflight(only_local, run=Sbatch({}), argv=["pytest"]) == (
        "Slurm pre-flight: no job of this run goes to Slurm"
    )


def test_rules_that_may_follow_a_pending_checkpoint_are_asked_and_named_as_such():
    """A checkpoint (data_status) may add jobs after onstart: their requests are asked too,
    after the run's, and named as rules that may join."""
    local = {"fetch_mnist", "data_status"}
    wf = _workflow(
        ALL_RULES, ["data_status", *ONE_MNIST_JOB], local, waiting={"data_status": "normalise_mnist"}
    )
    sbatch = Sbatch({})

    def refuse_long(args, **kw):  # a partition limit of 2 hours: only Indian Pines' training exceeds it
        sbatch.calls.append(list(args))
        if args[args.index("-t") + 1] == "240":
            return subprocess.CompletedProcess(
                args, 1, "", "sbatch: error: Requested time limit is invalid\n"
            )
        return subprocess.CompletedProcess(args, 0, "", ACCEPTED)

    with pytest.raises(ConfigError) as exc:
        slurm.preflight(wf, run=refuse_long, argv=["pytest"])
    message = str(exc.value)
    assert message.startswith(
        "Slurm refuses the jobs of evaluate_indian_pines, train_indian_pines "
        "(slurm_partition=booster; rules that may join this run after the checkpoint data_status)"
    ), message
    assert "fix `runtime`" in message
    # the run's own requests first; a later request equal to one of them is not asked twice
    assert [c[c.index("-t") + 1] for c in sbatch.calls] == ["60", "30", "240"]
    # a checkpoint no job of the run waits for (snakemake --until data_status) adds no jobs
    until = _workflow(
        ALL_RULES, ["data_status", "fetch_mnist"], local, waiting={"data_status": "normalise_mnist"}
    )
    assert slurm.preflight(until, run=refuse_long, argv=["pytest"]) == (
        "Slurm pre-flight: no job of this run goes to Slurm"
    )


def test_copied_profile_and_one_job_run_end_to_end(tmp_path):
    """Snakemake with the Slurm executor, a copy of profiles/slurm with only the site block
    edited (other partitions, no account) and one MNIST evaluation as target; `sbatch` is a
    stand-in for a site whose submit filter requires an account. The run ends in onstart with
    one line that names the copy and the run's rules; nothing is submitted."""
    from conftest import copy_workflow

    wf = copy_workflow(tmp_path / "wf")
    site = wf / "profiles/mysite"
    shutil.copytree(wf / "profiles/slurm", site)
    text = (site / "config.yaml").read_text()
    text = text.replace("slurm_partition: batch", "slurm_partition: cpu-std")
    text = text.replace("slurm_partition: booster", "slurm_partition: gpu-a100")
    text = "\n".join(ln for ln in text.splitlines() if "slurm_account:" not in ln) + "\n"
    (site / "config.yaml").write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "sbatch.log"
    (bin_dir / "sbatch").write_text(
        "#!/bin/sh\n"
        f'echo "sbatch $*" >> {log}\n'
        'case " $* " in *" -A "*) echo "sbatch: Job 1 to start" >&2; exit 0 ;; esac\n'
        'echo "sbatch: error: job rejected by site policy: no account given" >&2\n'
        'echo "sbatch: error: Batch job submission failed: Unspecified error" >&2\n'
        "exit 1\n"
    )
    for tool in ("scontrol", "squeue", "sinfo", "sacct", "sacctmgr", "sshare", "srun"):  # no cluster
        (bin_dir / tool).write_text("#!/bin/sh\nexit 1\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(
        [SNAKEMAKE, "results/mnist/mlp/e20/seed1/metrics.json", "--workflow-profile", "profiles/mysite",
         "--software-deployment-method", "env-modules"],
        cwd=wf, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    lines = [ln for ln in out.splitlines() if "Slurm refuses" in ln]
    assert len(lines) == 1, out[-3000:]
    assert lines[0].startswith(
        "Slurm refuses the jobs of evaluate_mnist, train_mnist (slurm_partition=gpu-a100): "
        "job rejected by site policy: no account given; "
        "fix `slurm_account` in the SITE VALUES block of profiles/mysite/config.yaml (checked with: "
    ), lines[0]
    calls = log.read_text().splitlines()
    assert calls and all(c.startswith("sbatch --test-only ") for c in calls), calls  # nothing submitted
