"""A running test cluster for tests/test_slurm.py: tests/slurm/start-slurm.sh inside an offline
network namespace, commands run in it, its accounting (sacct), and the fault driver that
cancels or requeues a training job while it waits at an epoch (``DLREPRO_FAULT=PAUSE@1:...``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

START = Path(__file__).with_name("start-slurm.sh")
# Loopback only. The second loopback address matters: Slurm resolves its listening address
# with getaddrinfo(AI_ADDRCONFIG), which finds no IPv4 address when 127.0.0.1 is the only one
# (glibc ignores exactly that address), and slurmctld dies with "Address family not supported".
NETNS_SETUP = "ip link set lo up && ip addr add 127.0.0.2/8 dev lo"
# SubmitLine last: it may contain the delimiter. Comment stays empty on a stock site (the test
# cluster sets no AccountingStoreFlags): the rule is read from the submit line instead.
SACCT_FIELDS = (
    "JobID,JobName%36,Comment%8,Partition,Account,AllocTRES%60,State%14,ExitCode,Elapsed,Timelimit,SubmitLine"
)
# the table printed by tests/test_slurm.py (the rule comes from SACCT_RULES beside it)
TABLE_FIELDS = "JobID,JobName%36,Comment%8,Partition,Account,AllocTRES%60,State%14,Elapsed,Timelimit"
# docs/cluster.md: which rule each job ran, from fields every slurmdbd stores (the plugin's job
# name is the run's id; its `--comment rule_<name>...` is kept only in the submit line)
SACCT_RULES = (
    "sacct -X -P -o JobID,Partition,Account,State,Elapsed,SubmitLine"
    " | sed -E -e '1s/SubmitLine$/Rule/' -e 's/[|]sbatch [^|]* --comment (rule_[^ ]+).*/|\\1/'"
)
RULE_COMMENT = re.compile(r"(?:^|\s)--comment[= ]rule_(\S+)")


def rule_of(submit_line: str) -> str | None:
    """The Snakemake rule of a job from its sbatch command line (the plugin's ``--comment
    rule_<name>[_wildcards_...]``)."""
    m = RULE_COMMENT.search(submit_line or "")
    return m.group(1).split("_wildcards_")[0] if m else None


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


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


class Cluster:
    """start-slurm.sh's cluster with the given partitions and accounts, in an offline namespace."""

    def __init__(self, base: Path, partitions: dict[str, str], accounts: list[str], lifetime: int):
        self.base = Path(base)
        self.env = {
            **os.environ,
            "SLURM_BASE": str(self.base),
            "CPU_PARTITION": partitions["cpu"],
            "GPU_PARTITION": partitions["gpu"],
            "ACCOUNTS": " ".join(accounts),
            # paused jobs hold a CPU and a GPU each: room for three trainings and a CPU job
            "NODE_CPUS": "4",
            "FAKE_GPUS": "4",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        self.ns = OfflineNamespace(lifetime)
        self.started = False
        self.up_seconds = None

    def start(self):
        tic = time.monotonic()
        proc = self.run("bash", str(START), "start")
        self.started = True
        if proc.returncode != 0:
            raise AssertionError(f"start-slurm.sh failed:\n{proc.stderr}")
        self.up_seconds = time.monotonic() - tic
        return proc.stderr.strip()

    def stop(self) -> str:
        out = ""
        if self.started:
            out = self.run("bash", str(START), "stop").stderr.strip()
        self.ns.close()
        return out

    def run(self, *cmd, timeout=120, cwd=None, env=None):
        return run([*self.ns.prefix, *cmd], env={**self.env, **(env or {})}, timeout=timeout, cwd=cwd)

    def popen(self, *cmd, cwd, env=None, log: Path):
        fh = open(log, "w")  # noqa: SIM115 (closed in wait())
        proc = subprocess.Popen(
            [*self.ns.prefix, *cmd],
            cwd=cwd,
            env={**self.env, **(env or {})},
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        proc.log_handle = fh
        return proc

    def sacct(self, fields: str = SACCT_FIELDS, parsable: bool = True) -> str:
        # -D: every run of a job (a requeued job once per start), -X: allocations, not steps
        args = ["sacct", "-a", "-X", "-D", "-S", "2000-01-01", "-o", fields]
        if parsable:
            args += ["-P", "-n"]
        proc = self.run(*args)
        if proc.returncode != 0:
            raise AssertionError(f"sacct failed: {proc.stderr}")
        return proc.stdout

    def jobs(self) -> list[dict]:
        """One dict per job run (sacct -D), with ``rule`` from its submit line (:func:`rule_of`)."""
        names = [f.split("%")[0] for f in SACCT_FIELDS.split(",")]
        rows = []
        for line in self.sacct().splitlines():
            rec = dict(zip(names, line.split("|", len(names) - 1), strict=False))
            rec["rule"] = rule_of(rec.get("SubmitLine", ""))
            rows.append(rec)
        return rows

    def sacct_rules(self) -> str:
        """docs/cluster.md's SACCT_RULES command, for every job run since 2000 (-a -D)."""
        cmd = SACCT_RULES.replace("sacct -X", "sacct -a -D -S 2000-01-01 -X", 1)
        proc = self.run("sh", "-c", cmd)
        if proc.returncode != 0:
            raise AssertionError(f"{cmd} failed: {proc.stderr}")
        return proc.stdout

    def running_job(self, rule: str) -> str | None:
        proc = self.run("squeue", "-h", "-t", "R", "-o", "%i|%k")
        for line in proc.stdout.splitlines():
            job_id, _, comment = line.partition("|")
            if comment == f"rule_{rule}" or comment.startswith(f"rule_{rule}_wildcards_"):
                return job_id
        return None


def drive_faults(cluster: Cluster, workdir: Path, proc, actions: dict[str, tuple[str, str]], timeout: float):
    """While ``proc`` (the Snakemake run) lives: when the training of an experiment waits at
    its pause (``<checkpoints>/paused``), apply its action once: ``("scancel", rule)``,
    ``("requeue", rule)`` (what a preemption with PreemptMode=REQUEUE does to a job) or
    ``("timelimit", rule)`` (the job's time limit lowered to 1 minute, which it has reached or
    soon reaches: Slurm ends it with TIMEOUT while the training waits with its handlers set).
    Returns ``{experiment: (action, job id)}``. Event-driven: no fixed sleeps to race (a
    short limit given at submission would race the job's start-up on a loaded machine)."""
    done: dict[str, tuple[str, str]] = {}
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end and len(done) < len(actions):
        for experiment, (action, rule) in actions.items():
            if experiment in done or not list((workdir / "results" / experiment).rglob("checkpoints/paused")):
                continue
            job_id = cluster.running_job(rule)
            if job_id is None:
                continue
            cmd = {
                "scancel": ["scancel", job_id],
                "requeue": ["scontrol", "requeue", job_id],
                "timelimit": ["scontrol", "update", f"JobId={job_id}", "TimeLimit=1"],
            }[action]
            result = cluster.run(*cmd)
            assert result.returncode == 0, (cmd, result.stderr)
            done[experiment] = (action, job_id)
            if action == "requeue":
                release_when_pending(cluster, job_id, end)
        time.sleep(0.5)
    return done


def release_when_pending(cluster: Cluster, job_id: str, end: float) -> None:
    """Slurm holds a requeued job for about 2 minutes (Reason=BeginTime) before it may start
    again; the test lets it start at once (as `scontrol update StartTime=now` would on a site)."""
    while time.monotonic() < end:
        state = cluster.run("squeue", "-h", "-j", job_id, "-o", "%T").stdout.strip()
        if state == "PENDING":
            result = cluster.run("scontrol", "update", f"JobId={job_id}", "StartTime=now")
            assert result.returncode == 0, result.stderr
            return
        time.sleep(0.5)
