"""A stand-in for ``srun`` on one machine: start ``--ntasks`` copies of a command here.

Each copy gets the variables Slurm sets in the tasks of a job step (``SLURM_PROCID``,
``SLURM_LOCALID``, ``SLURM_STEP_NUM_TASKS``, ``SLURM_STEP_NODELIST``,
``SLURM_STEP_TASKS_PER_NODE``, ``SLURMD_NODENAME``, ...) with every task on ``localhost``, and
``DLREPRO_PORT_BASE`` set to a base whose next ``--ntasks`` ports are free.  Like
``srun --kill-on-bad-exit=1``, when one task fails the others are killed; the exit status is
the first failing task's.  Used by tests/test_multinode_launch.py as ``resources.mpi``; the
other srun options (``--nodes``, ``--cpus-per-task``, ...) are accepted and ignored.

    python tests/slurm/local_srun.py --ntasks=2 [--other-srun-options] COMMAND [ARGS...]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time


def free_port_base(n: int) -> int:
    for _ in range(200):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        sockets = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise SystemExit("local_srun: no free port range")


def main(argv: list[str]) -> int:
    options, command = [], list(argv)
    while command and command[0].startswith("-"):
        options.append(command.pop(0))
    ntasks = 1
    for option in options:
        if option.startswith("--ntasks="):
            ntasks = int(option.split("=", 1)[1])
    if not command:
        raise SystemExit("local_srun: no command")
    base = free_port_base(ntasks)
    step = {
        "SLURM_JOB_ID": str(os.getpid()),
        "SLURM_STEP_ID": "0",
        "SLURM_NTASKS": str(ntasks),
        "SLURM_STEP_NUM_TASKS": str(ntasks),
        "SLURM_NNODES": "1",
        "SLURM_STEP_NODELIST": "localhost",
        "SLURM_STEP_TASKS_PER_NODE": str(ntasks),
        "SLURMD_NODENAME": "localhost",
        "DLREPRO_PORT_BASE": str(base),
    }
    tasks = [
        subprocess.Popen(command, env={**os.environ, **step, "SLURM_PROCID": str(i), "SLURM_LOCALID": str(i)})
        for i in range(ntasks)
    ]
    status = 0
    try:
        while [t.poll() for t in tasks].count(None):
            failed = [t.returncode for t in tasks if t.returncode not in (None, 0)]
            if failed:
                status = failed[0]
                break
            time.sleep(0.2)
        else:
            status = next((t.returncode for t in tasks if t.returncode), 0)
    finally:
        for t in tasks:
            if t.poll() is None:
                t.kill()
            t.wait()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
