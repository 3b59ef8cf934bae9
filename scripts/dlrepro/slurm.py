"""Pre-flight checks of a run with Snakemake's Slurm executor (Snakefile ``onstart``).

A submission that Slurm refuses by policy (no or unknown account, wrong partition, QoS,
reservation, a time or memory request above the partition's limits) can never succeed, yet
the executor would submit every job, report each as failed and retry it ``retries`` times.
:func:`preflight` asks Slurm once per distinct request (``sbatch --test-only``: the
controller, its job_submit filter and the accounting associations judge it, nothing is
queued) before the first job is submitted, and ends the run with one line naming the
profile key to fix.  It also catches two ways a run silently loses the profile's routing:

* a command-line ``--set-resources`` replaces the profile's whole ``set-resources`` block
  (Snakemake merges profiles and command line key by key, not rule by rule), so every GPU
  rule would fall back to the CPU partition;
* ``--profile profiles/slurm`` together with the workflow profile ``profiles/default``, whose
  ``cores: all`` caps every job's threads at the login node's cores.

The functions below work on plain dicts (unit-tested); :func:`workflow_requests` reads them
from Snakemake's ``workflow`` object.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Iterable, Mapping

from .errors import ConfigError

PROFILE = "profiles/slurm/config.yaml"
#: resources that decide whether Slurm accepts a job (the rest only size it)
POLICY_KEYS = ("slurm_partition", "slurm_account", "qos", "constraint", "gpu", "gpu_model", "gres")
#: (words in sbatch's error, profile key to fix), first match wins
ERROR_KEYS = (
    ("account", "slurm_account"),
    ("association", "slurm_account"),
    ("partition", "slurm_partition"),
    ("qos", "qos"),
    ("reservation", "slurm-reservation"),
    ("feature", "constraint"),
    ("constraint", "constraint"),
    ("time limit", "runtime"),
    ("gres", "gpu / gpu_model / gres"),
    ("gpu", "gpu / gpu_model / gres"),
    ("memory", "mem_mb"),
    ("node configuration", "mem_mb / cpus_per_gpu / gpu"),
)


SITE_BLOCK_KEYS = {
    "slurm_account",
    "slurm_partition",
    "qos",
    "slurm-reservation",
    "constraint",
    "gpu / gpu_model / gres",
    "the site values",
}


def plain(value):
    """A resource value as a plain int/str, or None for expressions and callables."""
    if getattr(value, "is_evaluable", None) is not None:  # snakemake.resources.Resource
        if value.is_evaluable():  # profile and command-line values are expressions: evaluate
            # them as for a first attempt (those that need a job's input give None)
            try:
                value = value.evaluate({}, input=[], attempt=1, threads=1, rulename="", async_run=None)
            except Exception:
                return None
        value = value.value
    if callable(value) or (value is not None and not isinstance(value, (int, float, str))):
        return None
    return value


def effective_resources(rule_resources: Mapping, defaults: Mapping, overwrite: Mapping | None) -> dict:
    """A rule's resources as Snakemake combines them: default-resources < the rule's own
    ``resources:`` < set-resources.  Only plain values (expressions are left out)."""
    out: dict = {}
    for layer in (defaults, rule_resources, overwrite or {}):
        for key, value in layer.items():
            value = plain(value)
            if value is not None and not key.startswith("_"):
                out[key] = value
    return out


def check_gpu_routing(gpu_rules: Iterable[str], overwrite: Mapping[str, Mapping]) -> None:
    """Every rule that declares a GPU must keep its set-resources entry with a partition."""
    lost = sorted(r for r in gpu_rules if "slurm_partition" not in (overwrite.get(r) or {}))
    if lost:
        raise ConfigError(
            f"{PROFILE}: set-resources has no partition for the GPU rule(s) {', '.join(lost)}; "
            "a command-line --set-resources replaces the profile's whole set-resources block: "
            "change the value in the profile (or a copy of it) instead"
        )


def check_threads(threads: Mapping[str, int], cores: int | None) -> None:
    """set-threads above the run's --cores would be capped silently (TensorFlow gets fewer
    threads than the CPUs Slurm allocates)."""
    if not cores:
        return
    over = sorted(rule for rule, n in threads.items() if isinstance(n, int) and n > cores)
    if over:
        raise ConfigError(
            f"{PROFILE}: set-threads of {', '.join(over)} ({max(threads[r] for r in over)}) exceeds "
            f"--cores {cores}, which caps them: run with --workflow-profile profiles/slurm (not "
            "--profile, which keeps profiles/default's `cores: all`) or raise cores"
        )


def request_key(resources: Mapping, settings: Mapping | None = None) -> tuple:
    """What decides acceptance: partition, account, QoS, constraint, GPUs, reservation."""
    settings = settings or {}
    qos = resources.get("qos", settings.get("qos"))
    return (
        *(resources.get(k) for k in POLICY_KEYS if k != "qos"),
        qos,
        settings.get("reservation"),
    )


def sbatch_test_args(resources: Mapping, settings: Mapping | None = None) -> list[str]:
    """``sbatch --test-only`` arguments for a job with these resources (as the Slurm executor
    plugin 2.8.0 writes them: -p, -A, --qos, -C, --gpus[=model:]N / --gres, -t, --mem)."""
    settings = settings or {}
    args = ["sbatch", "--test-only", "--job-name", "dlrepro-preflight"]
    res = dict(resources)
    if res.get("slurm_partition"):
        args += ["-p", str(res["slurm_partition"])]
    if res.get("slurm_account"):
        args += ["-A", str(res["slurm_account"])]
    qos = res.get("qos", settings.get("qos"))
    if qos:
        args += [f"--qos={qos}"]
    if settings.get("reservation"):
        args += [f"--reservation={settings['reservation']}"]
    if res.get("constraint"):
        args += ["-C", str(res["constraint"])]
    if res.get("gres"):
        args += [f"--gres={res['gres']}"]
    elif res.get("gpu"):
        model = res.get("gpu_model")
        args += [f"--gpus={model}:{res['gpu']}" if model else f"--gpus={res['gpu']}"]
        if res.get("cpus_per_gpu"):
            args += [f"--cpus-per-gpu={res['cpus_per_gpu']}"]
    if res.get("runtime"):
        args += ["-t", str(res["runtime"])]
    if res.get("mem_mb"):
        args += ["--mem", str(res["mem_mb"])]
    return [*args, "--wrap", "true"]


def group_requests(requests: Mapping[str, Mapping], settings: Mapping | None = None) -> list[tuple]:
    """``[(rules, resources)]``: one entry per distinct request, with the largest runtime and
    memory of its rules (what Slurm must accept for every one of them)."""
    groups: dict[tuple, tuple[list, dict]] = {}
    for rule in sorted(requests):
        res = requests[rule]
        key = request_key(res, settings)
        names, merged = groups.setdefault(key, ([], {}))
        names.append(rule)
        for k, v in res.items():
            if k in ("runtime", "mem_mb") and isinstance(v, (int, float)):
                merged[k] = max(merged.get(k, 0), v)
            elif k not in merged:
                merged[k] = v
    return [(names, merged) for names, merged in groups.values()]


def sbatch_error(output: str) -> str:
    """The informative line of sbatch's error output (the job_submit filter's message wins
    over the generic 'Batch job submission failed')."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in lines:
        if "error:" in line and "Batch job submission failed: Unspecified error" not in line:
            return line.split("error:", 1)[1].strip()
    return lines[-1] if lines else "no output"


def key_to_fix(message: str) -> str:
    low = message.lower()
    for words, key in ERROR_KEYS:
        if words in low:
            return key
    return "the site values"


def check_submissions(
    requests: Mapping[str, Mapping],
    settings: Mapping | None = None,
    run: Callable = subprocess.run,
) -> int:
    """``sbatch --test-only`` once per distinct request; raises ConfigError (one line) for
    the first refused one.  Returns the number of requests checked."""
    groups = group_requests(requests, settings)
    for rules, res in groups:
        args = sbatch_test_args(res, settings)
        try:
            proc = run(args, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"cannot ask Slurm whether it accepts the jobs: {shlex.join(args)}: {exc}"
            ) from exc
        if proc.returncode != 0:
            message = sbatch_error((proc.stderr or "") + "\n" + (proc.stdout or ""))
            where = ", ".join(
                f"{k}={res[k]}" for k in ("slurm_partition", "slurm_account", "qos") if res.get(k)
            )
            shown = ", ".join(rules[:3]) + (f" and {len(rules) - 3} more" if len(rules) > 3 else "")
            key = key_to_fix(message)
            place = "the SITE VALUES block" if key in SITE_BLOCK_KEYS else "the rules' set-resources"
            raise ConfigError(
                f"Slurm refuses the jobs of {shown} ({where or 'no partition/account'}): {message}; "
                f"fix `{key}` in {place} of {PROFILE} (checked with: {shlex.join(args)})"
            )
    return len(groups)


def workflow_requests(workflow) -> tuple[dict, dict, set, dict, int | None]:
    """(requests per non-local rule, executor settings, GPU rules, set-threads, cores) of a
    Snakemake ``workflow`` object."""
    rs = workflow.resource_settings
    defaults = dict(rs.default_resources or {})
    overwrite = {rule: dict(res) for rule, res in (rs.overwrite_resources or {}).items()}
    local = set(getattr(workflow, "_localrules", set()))
    requests, gpu = {}, set()
    for rule in workflow.rules:
        if rule.name in local or rule.norun:
            continue
        own = dict(rule.resources)
        if plain(own.get("gpu")) or rule.name.startswith(("train_", "evaluate_")):
            gpu.add(rule.name)
        requests[rule.name] = effective_resources(own, defaults, overwrite.get(rule.name))
    es = getattr(workflow, "executor_settings", None)
    settings = {k: getattr(es, k, None) for k in ("qos", "reservation")}
    threads = {rule: plain(n) for rule, n in (rs.overwrite_threads or {}).items()}
    return requests, settings, gpu, {k: v for k, v in threads.items() if v is not None}, rs.cores


def preflight(workflow, run: Callable = subprocess.run) -> str | None:
    """All checks for a Slurm run; a no-op for other executors. Returns a one-line summary."""
    plugin = getattr(workflow, "executor_plugin", None)
    if getattr(plugin, "name", None) != "slurm" or workflow.dryrun:
        return None
    requests, settings, gpu, threads, cores = workflow_requests(workflow)
    overwrite = {
        rule: dict(res) for rule, res in (workflow.resource_settings.overwrite_resources or {}).items()
    }
    check_gpu_routing(gpu, overwrite)
    check_threads({r: n for r, n in threads.items() if r in gpu}, cores)
    n = check_submissions(requests, settings, run=run)
    return f"Slurm pre-flight: {n} distinct job request(s) accepted by sbatch --test-only"
