"""Pre-flight checks of a run with Snakemake's Slurm executor (Snakefile ``onstart``).

A submission that Slurm refuses by policy (no or unknown account, wrong partition, QoS,
reservation, a time or memory request above the partition's limits) can never succeed, yet
the executor would submit every job, report each as failed and retry it ``retries`` times.
:func:`preflight` asks Slurm once per distinct request (``sbatch --test-only``: the
controller, its job_submit filter and the accounting associations judge it, nothing is
queued) before the first job is submitted, and ends the run with one line naming the
profile key to fix and the profile file in use (:func:`profiles_in_use`: a copy such as
``profiles/mysite`` is named, not ``profiles/slurm``).  Only the requests of the jobs this run
submits are asked (:func:`run_rules`: the DAG's jobs that need to run); where a checkpoint of
the run is still to come, the rules that may join the run after it are asked too, and named
as such.  It also catches two ways a run silently loses the profile's routing:

* a command-line ``--set-resources`` replaces the profile's whole ``set-resources`` block
  (Snakemake merges profiles and command line key by key, not rule by rule), so every GPU
  rule would fall back to the CPU partition;
* ``--profile profiles/slurm`` together with the workflow profile ``profiles/default``, whose
  ``cores: all`` caps every job's threads at the login node's cores.

The functions below work on plain dicts (unit-tested); :func:`workflow_requests` reads them
from Snakemake's ``workflow`` object.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .errors import ConfigError

#: the shipped profile; messages name the profile in use instead (:func:`profiles_in_use`)
PROFILE = "profiles/slurm/config.yaml"
#: resources that decide whether Slurm accepts a job (the rest only size it)
POLICY_KEYS = ("slurm_partition", "slurm_account", "qos", "constraint", "gpu", "gpu_model", "gres", "nodes")
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


def check_gpu_routing(
    gpu_rules: Iterable[str], overwrite: Mapping[str, Mapping], profile: str = PROFILE
) -> None:
    """Every rule that declares a GPU must keep its set-resources entry with a partition."""
    lost = sorted(r for r in gpu_rules if "slurm_partition" not in (overwrite.get(r) or {}))
    if lost:
        raise ConfigError(
            f"{profile}: set-resources has no partition for the GPU rule(s) {', '.join(lost)}; "
            "a command-line --set-resources replaces the profile's whole set-resources block: "
            "change the value in the profile (or a copy of it) instead"
        )


def check_threads(threads: Mapping[str, int], cores: int | None, profile: str = PROFILE) -> None:
    """set-threads above the run's --cores would be capped silently (TensorFlow gets fewer
    threads than the CPUs Slurm allocates)."""
    if not cores:
        return
    over = sorted(rule for rule, n in threads.items() if isinstance(n, int) and n > cores)
    if over:
        raise ConfigError(
            f"{profile}: set-threads of {', '.join(over)} ({max(threads[r] for r in over)}) exceeds "
            f"--cores {cores}, which caps them: run with --workflow-profile {Path(profile).parent} "
            "(not --profile, which keeps profiles/default's `cores: all`) or raise cores"
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
    if res.get("nodes"):  # a multi-node training (docs/multinode.md): the partition's node limit
        args += [f"--nodes={res['nodes']}", f"--ntasks={res.get('tasks') or res['nodes']}"]
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


def _shown(rules: list[str]) -> str:
    return ", ".join(rules[:3]) + (f" and {len(rules) - 3} more" if len(rules) > 3 else "")


def _fix_place(key: str, profile: str) -> str:
    """Where to fix ``key``: the site block of the profile in use (where it has one), else
    the rules' set-resources."""
    if key not in SITE_BLOCK_KEYS:
        return f"the rules' set-resources of {profile}"
    try:
        has_block = "SITE VALUES" in Path(profile).read_text(encoding="utf-8")
    except OSError:  # not readable from here (snakemake --directory): a copy of ours, likely
        has_block = True
    return f"the SITE VALUES block of {profile}" if has_block else profile


def check_submissions(
    requests: Mapping[str, Mapping],
    settings: Mapping | None = None,
    run: Callable = subprocess.run,
    profile: str = PROFILE,
    later: Mapping[str, Mapping] | None = None,
    checkpoints: Iterable[str] = (),
) -> int:
    """``sbatch --test-only`` once per distinct request of the rules in ``requests`` (those of
    the run's jobs), then of those in ``later`` (rules that may join the run once its
    ``checkpoints`` have run) that ask for something not asked yet; raises ConfigError (one
    line, naming the rules, the key to fix and ``profile``) for the first refused one.
    Returns the number of requests checked."""
    groups = [(rules, res, False) for rules, res in group_requests(requests, settings)]
    groups += [(rules, res, True) for rules, res in group_requests(later or {}, settings)]
    asked: set[tuple] = set()
    for rules, res, maybe in groups:
        args = sbatch_test_args(res, settings)
        if tuple(args) in asked:
            continue
        asked.add(tuple(args))
        try:
            proc = run(args, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"cannot ask Slurm whether it accepts the jobs: {shlex.join(args)}: {exc}"
            ) from exc
        if proc.returncode != 0:
            message = sbatch_error((proc.stderr or "") + "\n" + (proc.stdout or ""))
            where = (
                ", ".join(f"{k}={res[k]}" for k in ("slurm_partition", "slurm_account", "qos") if res.get(k))
                or "no partition/account"
            )
            if maybe:
                where += (
                    f"; rules that may join this run after the checkpoint {', '.join(sorted(checkpoints))}"
                )
            key = key_to_fix(message)
            raise ConfigError(
                f"Slurm refuses the jobs of {_shown(rules)} ({where}): {message}; "
                f"fix `{key}` in {_fix_place(key, profile)} (checked with: {shlex.join(args)})"
            )
    return len(asked)


# ----------------------------------------------------------------------------- the run


def _is_snakemake_command(argv: list[str]) -> bool:
    """Whether ``argv`` is a Snakemake command line (``snakemake ...``, ``python -m snakemake``)."""
    if not argv:
        return False
    prog = Path(argv[0])
    return prog.name.startswith("snakemake") or (
        prog.parent.name == "snakemake" and prog.name == "__main__.py"
    )


def _profile_file(profile: str | Path, cwd: Path) -> Path | None:
    """A profile (name, folder or YAML file, relative to ``cwd``) as Snakemake finds it: its
    config file."""
    from snakemake.cli import get_profile_dir

    here = cwd / profile
    found = get_profile_dir(str(here if here.exists() else profile))
    return found[1] if found else None


def _workflow_profile(value: str | None, snakefile: str | None, cwd: Path) -> Path | None:
    """The workflow profile Snakemake uses: ``--workflow-profile`` (a file, a folder, or a name
    under profiles/), else profiles/default where it exists; ``none`` turns it off."""
    if value == "none":
        return None
    name = Path(value or "default")
    if value and (cwd / name).is_file():
        return cwd / name
    candidates = [cwd / name, cwd / "profiles" / name] if value else [cwd / "profiles" / name]
    if snakefile:
        candidates.append(cwd / Path(snakefile).parent / "profiles" / name)
    return next((c for c in candidates if c.exists()), None)


def profiles_in_use(
    argv: list[str] | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> list[Path]:
    """The config files of the profiles of this Snakemake run, lowest precedence first: every
    ``--profile`` (else ``$SNAKEMAKE_PROFILE``), then the workflow profile. Read from the
    command line (started in ``cwd``) with Snakemake's own parser (abbreviations,
    ``--profile=X``); empty where ``argv`` is not a Snakemake command line (the API, tests)."""
    argv = list(sys.argv if argv is None else argv)
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else Path(cwd)
    if not _is_snakemake_command(argv):
        return []
    try:
        from snakemake.cli import get_argument_parser

        args, _ = get_argument_parser().parse_known_args(argv[1:], env_vars=dict(environ))
    except (Exception, SystemExit):  # an unparsable command line: no profile is named
        return []
    found = [_profile_file(p, cwd) for p in (args.profile or []) if p and p != "none"]
    workflow_profile = _workflow_profile(args.workflow_profile, args.snakefile, cwd)
    if workflow_profile is not None:
        found.append(_profile_file(workflow_profile, cwd))
    return [p for p in found if p is not None]


SLURM_PROFILE_TEXT = re.compile(r"^\s*(executor:\s*slurm\b|slurm_partition:|slurm_account:)", re.M)


def site_profile(profiles: Iterable[Path], cwd: Path | None = None) -> str:
    """The profile to name in a message: of the profiles in use the last (highest precedence)
    that holds Slurm values, shown relative to the working directory where it lies below it;
    the shipped profiles/slurm/config.yaml where none is known."""
    cwd = Path.cwd() if cwd is None else cwd
    chosen = None
    for path in profiles:
        try:
            if SLURM_PROFILE_TEXT.search(Path(path).read_text(encoding="utf-8")):
                chosen = Path(path)
        except OSError:
            continue
    if chosen is None:
        return PROFILE
    try:
        return str(chosen.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(chosen)


def run_rules(workflow) -> tuple[set[str] | None, set[str]]:
    """(names of the rules of the jobs this run submits, names of its checkpoints that may
    still add jobs to it) from the DAG that Snakemake has built before ``onstart``: its jobs
    that need to run, not the local ones. A checkpoint adds jobs only through the jobs of the
    run that wait for it (``--until`` a checkpoint adds none). ``(None, set())`` where there
    is no DAG (every rule counts)."""
    dag = getattr(workflow, "dag", None)
    if dag is None:
        return None, set()
    needrun = set(dag.needrun_jobs())
    rules = {job.rule.name for job in needrun if not job.is_local}
    depending = getattr(dag, "depending", None)
    checkpoints = {
        job.rule.name
        for job in getattr(dag, "checkpoint_jobs", ())
        if depending is None or any(d in needrun for d in depending.get(job, ()))
    }
    return rules, checkpoints


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


def preflight(
    workflow,
    run: Callable = subprocess.run,
    argv: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """All checks for a Slurm run; a no-op for other executors. Returns a one-line summary.

    The profile checks (GPU routing, threads) cover every rule; ``sbatch --test-only`` asks
    for the requests of the run's jobs (:func:`run_rules`), and for those of every other
    rule only while a checkpoint may still add jobs to the run."""
    plugin = getattr(workflow, "executor_plugin", None)
    if getattr(plugin, "name", None) != "slurm" or workflow.dryrun:
        return None
    cwd = Path(getattr(workflow, "workdir_init", None) or Path.cwd())  # where snakemake was started
    profile = site_profile(profiles_in_use(argv, environ, cwd), cwd)
    requests, settings, gpu, threads, cores = workflow_requests(workflow)
    overwrite = {
        rule: dict(res) for rule, res in (workflow.resource_settings.overwrite_resources or {}).items()
    }
    check_gpu_routing(gpu, overwrite, profile)
    check_threads({r: n for r, n in threads.items() if r in gpu}, cores, profile)
    in_run, checkpoints = run_rules(workflow)
    if in_run is None:
        now, later = requests, {}
    else:
        now = {r: res for r, res in requests.items() if r in in_run}
        later = {r: res for r, res in requests.items() if r not in in_run} if checkpoints else {}
    if not now and not later:
        return "Slurm pre-flight: no job of this run goes to Slurm"
    n = check_submissions(now, settings, run=run, profile=profile, later=later, checkpoints=checkpoints)
    after = (
        f", the rules that may follow the checkpoint {', '.join(sorted(checkpoints))} included"
        if later
        else ""
    )
    return f"Slurm pre-flight: {n} distinct job request(s) accepted by sbatch --test-only{after}"
