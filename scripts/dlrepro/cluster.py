"""Training across processes and nodes: who takes part, who is the chief, how tasks start.

A training process is one *worker* of a multi-worker job when

* ``TF_CONFIG`` names more than one worker (``cluster.chief`` + ``cluster.worker``), or
* it is one task of a multi-task Slurm job step (``srun --ntasks=N``, N > 1:
  ``SLURM_STEP_NUM_TASKS``; ``SLURM_NTASKS`` where the step count is absent and the task was
  started by :func:`launch_workers`).

Then :func:`dlrepro.training.distribution_strategy` returns a
``tf.distribute.MultiWorkerMirroredStrategy``: over TF_CONFIG's cluster, or over the Slurm
step's tasks through :func:`slurm_resolver` (a ``SlurmClusterResolver`` whose layout comes from
:func:`slurm_layout`, see there for what the stock resolver gets wrong).  Worker 0 is the chief:
it alone writes outputs, checkpoints and the rule's log; the others write to a temporary
directory that is removed (:func:`redirect_outputs`, ``training.fit``).

From Snakemake, a ``script:`` rule runs as a single process (the Slurm jobstep executor wraps
it in ``srun -n1``, or, for a job with an ``mpi`` resource, runs it as is and leaves the task
launch to the job).  :func:`launch_request` / :func:`launch_workers` turn that process into a
launcher: with ``resources.mpi`` (the launcher command, e.g. ``srun``) and ``resources.tasks``
> 1 it starts the same Snakemake script once per task (``srun --ntasks=T --nodes=N``) and waits;
see docs/multinode.md.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, DlReproError

#: set by :func:`launch_workers` in the environment of every task it starts
WORKER_ENV = "DLREPRO_WORKER"
#: first port of the Slurm workers on each node (default: derived from the job and step ids)
PORT_ENV = "DLREPRO_PORT_BASE"
PORT_RANGE = (20000, 40000)


# ------------------------------------------------------------------ who takes part


def tf_config(env: Mapping[str, str] | None = None) -> dict | None:
    """``TF_CONFIG`` parsed (None when unset or empty); a one-line error when malformed."""
    env = os.environ if env is None else env
    raw = env.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"environment variable TF_CONFIG: not valid JSON ({exc.msg} at character {exc.pos}); "
            'expected {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}'
        ) from None
    cluster, task = (value.get("cluster"), value.get("task")) if isinstance(value, dict) else (None, None)
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ConfigError(
            f'environment variable TF_CONFIG: expected an object with "cluster" and "task", got {raw[:80]!r}'
        )
    return value


def tf_config_workers(config: dict | None) -> int:
    """How many training workers (chief + worker tasks) a TF_CONFIG names."""
    if not config:
        return 0
    cluster = config["cluster"]
    return sum(len(cluster.get(kind) or []) for kind in ("chief", "worker"))


def _int_var(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}: {value!r}, expected an integer") from None


def slurm_tasks(env: Mapping[str, str] | None = None) -> int:
    """The number of tasks of the Slurm job step this process belongs to (0 outside a step)."""
    env = os.environ if env is None else env
    if _int_var(env, "SLURM_PROCID") is None:
        return 0
    step = _int_var(env, "SLURM_STEP_NUM_TASKS")
    if step is not None:
        return step
    # without the step's own count, the job's counts only for the tasks our launcher started
    return (_int_var(env, "SLURM_NTASKS") or 0) if env.get(WORKER_ENV) else 0


def multi_worker_kind(env: Mapping[str, str] | None = None) -> str | None:
    """``"tf_config"``, ``"slurm"`` or None (one process: MirroredStrategy or none)."""
    env = os.environ if env is None else env
    if tf_config_workers(tf_config(env)) > 1:
        return "tf_config"
    if slurm_tasks(env) > 1:
        return "slurm"
    return None


def task_rank(env: Mapping[str, str] | None = None) -> int:
    """This worker's number (0 = the chief) without starting TensorFlow; 0 for one process."""
    env = os.environ if env is None else env
    kind = multi_worker_kind(env)
    if kind == "slurm":
        return int(env["SLURM_PROCID"])
    if kind == "tf_config":
        config = tf_config(env)
        task, cluster = config["task"], config["cluster"]
        kind_, index = task.get("type"), int(task.get("index", 0))
        if kind_ == "chief":
            return 0
        return index + len(cluster.get("chief") or [])  # worker 0 is the chief when none is named
    return 0


def is_chief_process(env: Mapping[str, str] | None = None) -> bool:
    return task_rank(env) == 0


# ------------------------------------------------------------------ Slurm layout


@dataclass(frozen=True)
class SlurmLayout:
    """The tasks of one Slurm step: ``hosts[i]`` runs ``tasks_per_node[i]`` of them."""

    rank: int
    num_tasks: int
    hosts: tuple[str, ...]
    tasks_per_node: tuple[int, ...]
    port_base: int

    def addresses(self) -> list[str]:
        """``host:port`` of every task in rank order (block distribution: node by node)."""
        return [
            f"{host}:{self.port_base + k}"
            for host, count in zip(self.hosts, self.tasks_per_node, strict=True)
            for k in range(count)
        ]

    def placement(self, rank: int) -> tuple[str, int]:
        """(host, local index) of task ``rank`` under block distribution."""
        first = 0
        for host, count in zip(self.hosts, self.tasks_per_node, strict=True):
            if rank < first + count:
                return host, rank - first
            first += count
        raise IndexError(rank)


def port_base(env: Mapping[str, str]) -> int:
    """The first port on each node: ``DLREPRO_PORT_BASE``, else one derived from the job and
    step ids (the same for every task of the step, different for jobs sharing a node)."""
    low, high = PORT_RANGE
    chosen = _int_var(env, PORT_ENV)
    if chosen is not None:
        if not 1024 <= chosen <= 65000:
            raise ConfigError(f"environment variable {PORT_ENV}: {chosen}, expected a port in 1024..65000")
        return chosen
    job = _int_var(env, "SLURM_JOB_ID") or 0
    step = _int_var(env, "SLURM_STEP_ID") or 0
    slots = (high - low) // 64  # room for 64 tasks per node
    return low + 64 * ((job * 7 + step) % slots)


def slurm_layout(env: Mapping[str, str] | None = None) -> SlurmLayout:
    """Parse the step's Slurm variables (no ``scontrol``, no network) and check them.

    Fixes over the stock ``SlurmClusterResolver``: node order as Slurm gives it (the stock one
    sorts host names, so ``node[9-10]`` gives rank 0 the address of ``node10``); a port base
    per job and step instead of 8888 for everyone; a task placed other than by block
    distribution (``SLURMD_NODENAME``/``SLURM_LOCALID`` disagree) is refused in one line instead
    of giving workers each other's addresses; no ``nvidia-smi`` (absent on CPU nodes).
    """
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import (
        expand_hostlist,
        expand_tasks_per_node,
    )

    env = os.environ if env is None else env
    rank = _int_var(env, "SLURM_PROCID")
    num_tasks = slurm_tasks(env)
    if rank is None or num_tasks < 1:
        raise ConfigError("Slurm: SLURM_PROCID and SLURM_STEP_NUM_TASKS not set; not inside an srun step")
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or ""
    per_node = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE") or ""
    try:
        hosts = tuple(expand_hostlist(nodelist)) if nodelist else ()
        counts = tuple(expand_tasks_per_node(per_node)) if per_node else ()
    except ValueError as exc:
        raise ConfigError(f"Slurm step variables: {exc}") from None
    if not hosts or len(hosts) != len(counts):
        raise ConfigError(
            f"Slurm: SLURM_STEP_NODELIST={nodelist!r} and SLURM_STEP_TASKS_PER_NODE={per_node!r}, "
            "expected one task count per node"
        )
    if sum(counts) != num_tasks or not 0 <= rank < num_tasks:
        raise ConfigError(
            f"Slurm: {num_tasks} tasks (SLURM_STEP_NUM_TASKS), rank {rank} (SLURM_PROCID), but "
            f"SLURM_STEP_TASKS_PER_NODE={per_node!r} places {sum(counts)}"
        )
    layout = SlurmLayout(rank, num_tasks, hosts, counts, port_base(env))
    host, local = layout.placement(rank)
    node, local_id = env.get("SLURMD_NODENAME"), _int_var(env, "SLURM_LOCALID")
    if (node and node != host) or (local_id is not None and local_id != local):
        raise ConfigError(
            f"Slurm: task {rank} runs on {node} as local task {local_id}, but block distribution "
            f"puts it on {host} as local task {local}; launch with srun --distribution=block"
        )
    return layout


def slurm_resolver(env: Mapping[str, str] | None = None):
    """A ``tf.distribute.cluster_resolver.SlurmClusterResolver`` for this step's tasks."""
    import tensorflow as tf

    layout = slurm_layout(env)

    class DlReproSlurmResolver(tf.distribute.cluster_resolver.SlurmClusterResolver):
        """The stock resolver's interface over :class:`SlurmLayout`; GPUs as the task sees them
        (Slurm's binding, ``CUDA_VISIBLE_DEVICES``), never re-assigned."""

        def __init__(self):
            most = max(layout.tasks_per_node)
            super().__init__(
                jobs={"worker": layout.num_tasks},
                port_base=layout.port_base,
                gpus_per_node=most,  # placeholders: GPUs are counted in num_accelerators
                gpus_per_task=1,
                tasks_per_node=dict(zip(layout.hosts, layout.tasks_per_node, strict=True)),
                auto_set_gpu=False,
            )
            self.task_type, self.task_id = "worker", layout.rank

        def _resolve_own_rank(self):
            return layout.rank

        def cluster_spec(self):
            return tf.train.ClusterSpec({"worker": layout.addresses()})

        def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
            return {"GPU": len(tf.config.list_physical_devices("GPU"))}

    return DlReproSlurmResolver()


# ------------------------------------------------------------------ the strategy

_STRATEGY = None


def multi_worker_strategy(kind: str):
    """The process's one ``MultiWorkerMirroredStrategy`` (TensorFlow allows one, created
    before any other TensorFlow op: ``training.configure_threads`` creates it)."""
    global _STRATEGY
    if _STRATEGY is None:
        import tensorflow as tf

        resolver = slurm_resolver() if kind == "slurm" else None  # None: TF_CONFIG
        _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    return _STRATEGY


def is_chief() -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    if _STRATEGY is None:
        return True
    return bool(_STRATEGY.extended.should_checkpoint)


def _sum_over_replicas(strategy, values: list[float], dtype: str = "float32"):
    """``values`` summed over every replica of every worker: a collective op every worker calls,
    so also a barrier (no worker returns before all have reached it)."""
    import tensorflow as tf

    local = tf.constant(values, dtype=dtype)
    return strategy.reduce("SUM", strategy.run(lambda: tf.identity(local)), axis=None).numpy()


def barrier(strategy) -> None:
    """Wait until every worker has reached this point."""
    _sum_over_replicas(strategy, [0.0])


def any_worker(strategy, flags: list[bool]) -> list[bool]:
    """For each flag: is it set on at least one worker (a collective op every worker calls)."""
    return [bool(v > 0) for v in _sum_over_replicas(strategy, [1.0 if f else 0.0 for f in flags])]


def same_on_every_worker(strategy, value: int) -> bool:
    """Whether every worker passed the same ``value`` (a collective op, so also a barrier)."""
    v = float(value)
    total, squares, n = _sum_over_replicas(strategy, [v, v * v, 1.0], dtype="float64")
    return bool(n * squares == total * total)  # Cauchy-Schwarz: equality iff all values equal


# ------------------------------------------------------------------ Snakemake launch


def launch_request(snakemake, env: Mapping[str, str] | None = None) -> list[str] | None:
    """The launcher command when this Snakemake job should start its tasks itself, else None.

    Needs ``resources.mpi`` (the launcher, e.g. ``srun``) and ``resources.tasks`` > 1, and
    this process not being one of the started tasks already.
    """
    env = os.environ if env is None else env
    resources = getattr(snakemake, "resources", None)
    launcher = str(resources.get("mpi", "") or "") if resources is not None else ""
    tasks = int(resources.get("tasks", 1) or 1) if resources is not None else 1
    if not launcher.strip() or tasks <= 1 or env.get(WORKER_ENV):
        return None
    nodes = resources.get("nodes")
    command = [*shlex.split(launcher), f"--ntasks={tasks}"]
    if nodes:
        command.append(f"--nodes={int(nodes)}")
    command += [f"--cpus-per-task={max(1, int(snakemake.threads))}", "--kill-on-bad-exit=1"]
    return command


def task_log(log_path: str | os.PathLike, rank: int) -> Path:
    """The hidden log of non-chief task ``rank`` beside the rule's log."""
    log_path = Path(log_path)
    return log_path.with_name(f".{log_path.name}.task{rank}")


def launch_workers(command: list[str], log_path: str | None, logger: logging.Logger) -> None:
    """Run this Snakemake script once per task through ``command`` and wait for all of them.

    The chief (task 0) appends to the rule's log; the others log to ``.<log>.task<N>``, which
    are appended to the rule's log when the launch fails and removed otherwise.
    """
    script = os.path.abspath(sys.argv[0])  # Snakemake's generated script (preamble + code)
    full = [*command, sys.executable, script]
    logger.info("starting the training tasks: %s", shlex.join(full))
    for handler in logger.handlers:
        handler.flush()
    env = {**os.environ, WORKER_ENV: "1"}
    try:
        proc = subprocess.run(full, env=env, check=False)
    except FileNotFoundError:
        raise ConfigError(
            f"resources.mpi: launcher {command[0]!r} not found; expected srun (or a command that "
            "starts one process per task and sets SLURM_PROCID etc.)"
        ) from None
    logs = sorted(Path(log_path).parent.glob(f".{Path(log_path).name}.task*")) if log_path else []
    if proc.returncode != 0:
        first_error = ""
        for path in [Path(log_path)] if log_path else []:
            first_error = _first_error(path)
        for path in logs:
            text = path.read_text(encoding="utf-8", errors="replace")
            first_error = first_error or _first_error(path)
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(f"==== {path.name} ====\n{text}")
        for path in logs:
            path.unlink(missing_ok=True)
        raise DlReproError(
            f"training tasks failed ({shlex.join(command)} exited with status {proc.returncode})"
            + (f": {first_error}" if first_error else "; see the log and the Slurm job log")
        )
    for path in logs:
        path.unlink(missing_ok=True)


def _first_error(path: Path) -> str:
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    text = text[text.rfind("==== attempt ") + 1 :]  # this attempt's lines only (dlrepro.runner)
    for line in text.splitlines():
        if " ERROR " in line:
            return f"{path.name}: {line.split(' ERROR ', 1)[1]}"
    return ""


def redirect_outputs(snakemake) -> Path:
    """Point a non-chief worker's outputs into a fresh temporary directory (returned)."""
    root = Path(tempfile.mkdtemp(prefix="dlrepro-worker-"))
    output = snakemake.output
    for i, path in enumerate(list(output)):
        target = root / str(path).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        output[i] = str(target)
    for name, (start, end) in output._names.items():
        setattr(output, name, output[start] if end is None else output[start:end])
    return root


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
