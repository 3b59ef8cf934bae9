"""dlrepro.slurm: the pre-flight checks of a Slurm run (Snakefile onstart).

The sbatch outputs below are what Slurm 22.05 (tests/slurm/start-slurm.sh, slurmdbd with
enforced associations and the account-requiring job_submit.lua) printed for
``sbatch --test-only``; tests/test_slurm.py runs the same checks against the real cluster.
"""

from __future__ import annotations

import subprocess

import pytest

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
