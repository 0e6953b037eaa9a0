"""A real Ray cluster on loopback for the Ray executor's tests: a head with no CPU and worker nodes.

Every node is its own ``ray start --block`` process, started in a session of its own, so that one node is
killed (``kill_worker``) or the cluster torn down by the process groups started here, never with
``ray stop``, which stops every Ray on the machine by name. Every port a node would take by default is
given a free one, so two such clusters (or someone else's Ray) can run side by side.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

RAY = Path(sys.executable).with_name("ray")
_STARTED = "Ray runtime started"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalRayCluster:
    def __init__(self) -> None:
        # Short: Ray's Unix sockets live under it (at most 107 bytes a path).
        self.temp_dir = Path(tempfile.mkdtemp(prefix="btrt-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen[bytes]] = []
        self._logs = 0
        # A token of the cluster's own, given to its nodes and drivers by environment: nothing is read from
        # or written to ~/.ray, which Ray would otherwise share between every cluster of this user.
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}

    def _start(self, args: list[str], timeout_s: float = 90.0) -> subprocess.Popen[bytes]:
        self._logs += 1
        log = self.temp_dir / f"node{self._logs}.log"
        env = {**os.environ, **self.env}
        env.pop("RAY_ADDRESS", None)
        with log.open("wb") as out:
            node = subprocess.Popen(
                [
                    str(RAY),
                    "start",
                    "--block",
                    "--node-ip-address=127.0.0.1",
                    f"--temp-dir={self.temp_dir}",
                    "--disable-usage-stats",
                    f"--dashboard-agent-listen-port={free_port()}",
                    f"--dashboard-agent-grpc-port={free_port()}",
                    f"--metrics-export-port={free_port()}",
                    f"--runtime-env-agent-port={free_port()}",
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.nodes.append(node)
        deadline = time.monotonic() + timeout_s
        while _STARTED not in log.read_text(errors="replace"):
            if node.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a Ray node did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return node

    def start_head(self) -> Self:
        self._start(
            [
                "--head",
                f"--port={self.port}",
                "--num-cpus=0",  # runs go to the worker nodes, which the tests kill
                "--include-dashboard=false",
                f"--dashboard-port={free_port()}",
            ]
        )
        return self

    def add_worker(self, cpus: int = 2) -> subprocess.Popen[bytes]:
        return self._start([f"--address={self.address}", f"--num-cpus={cpus}"])

    def kill_worker(self, node: subprocess.Popen[bytes]) -> None:
        """The node and every process it started (raylet, its workers), at once, as a machine lost."""
        os.killpg(node.pid, signal.SIGKILL)
        node.wait()

    def close(self) -> None:
        """Every node's process group, killed: a test cluster keeps nothing worth a graceful stop."""
        for node in reversed(self.nodes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)
            node.wait()
        subprocess.run(["rm", "-rf", str(self.temp_dir)], check=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
