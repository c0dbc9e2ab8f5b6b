"""A real Dask cluster for tests: a `dask scheduler` and `dask worker` processes on 127.0.0.1, started
from the command line as a user would (same transport, separate processes that can be killed), each
step bounded in time, everything stopped at the end."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

SRC = str(Path(__file__).resolve().parents[1] / "src")
DASK = [sys.executable, "-m", "dask", "scheduler"]  # `dask scheduler`, this interpreter
WORKER = [sys.executable, "-m", "dask", "worker"]  # `dask worker`


class Cluster:
    def __init__(self, address: str, workers: list[subprocess.Popen], scheduler: subprocess.Popen):
        self.address, self.workers, self.scheduler = address, workers, scheduler

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker ``i`` (its whole process group: the nanny-less worker process)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait(timeout=30)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "5"
    return env


@contextlib.contextmanager
def dask_cluster(tmp: Path, n_workers: int = 2, timeout: float = 90.0) -> Iterator[Cluster]:
    """A scheduler and ``n_workers`` single-threaded worker processes (no nanny, so killing one is a
    real loss); waits until every worker has joined."""
    from distributed import Client

    tmp.mkdir(parents=True, exist_ok=True)
    sched_file = tmp / "scheduler.json"
    logs = [open(tmp / f"log-{i}.txt", "w") for i in range(n_workers + 1)]  # noqa: SIM115
    procs: list[subprocess.Popen] = []
    try:
        scheduler = subprocess.Popen([*DASK, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(sched_file)], env=_env(), stdout=logs[0],
                                     stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(scheduler)
        deadline = time.monotonic() + timeout
        while not sched_file.exists():
            if time.monotonic() > deadline or scheduler.poll() is not None:
                raise RuntimeError(f"the dask scheduler did not start: {(tmp / 'log-0.txt').read_text()[-2000:]}")
            time.sleep(0.1)
        workers = []
        for i in range(n_workers):
            w = subprocess.Popen([*WORKER, "--scheduler-file", str(sched_file), "--nthreads", "1", "--no-nanny",
                                  "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0",
                                  "--death-timeout", "60", "--local-directory", str(tmp / f"w{i}")],
                                 env=_env(), stdout=logs[i + 1], stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(w)
            workers.append(w)
        with Client(scheduler_file=str(sched_file), timeout="60s") as c:
            c.wait_for_workers(n_workers, timeout=max(1.0, deadline - time.monotonic()))
            address = c.scheduler.address
        yield Cluster(address, workers, scheduler)
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=15)
        for f in logs:
            f.close()
