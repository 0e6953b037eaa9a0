"""Scripted model servers in a child process, so their CPU never counts as benchtui's.

A real model server is another process; so is this one. ``ServerProcess(spec)`` starts
``python -m bench.servers``, which builds the scripted servers of ``tests.support.scripted`` from a JSON
spec, prints their URLs as one JSON line and serves until its stdin closes: when the benchmark ends,
or dies, the servers go with it.

Spec: a list of servers, each ``{"dialect": "ollama" | "openai", "models": {name: script}}`` where a
script is ``{"reply": text, "chunk_size": int, "chunk_delay_s": s, "first_byte_delay_s": s}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _build(spec: list[dict[str, Any]]) -> list[Any]:
    from tests.support.scripted import Script, ScriptedOllama, ScriptedOpenAI, fixed

    servers = []
    for entry in spec:
        cls = ScriptedOllama if entry.get("dialect", "ollama") == "ollama" else ScriptedOpenAI
        scripts = {
            name: Script(
                fixed(s["reply"]),
                chunk_size=int(s.get("chunk_size", 1 << 20)),
                chunk_delay_s=float(s.get("chunk_delay_s", 0.0)),
                first_byte_delay_s=float(s.get("first_byte_delay_s", 0.0)),
            )
            for name, s in entry["models"].items()
        }
        server = cls(scripts)
        # The scripted servers keep every request body for tests to inspect; a benchmark sends
        # thousands, so keep nothing.
        server.count = _counter(server)  # type: ignore[method-assign]
        servers.append(server.start())
    return servers


def _counter(server: Any) -> Any:
    def count(model: str, body: dict[str, Any]) -> int:
        with server._lock:
            server.attempts[model] += 1
            return int(server.attempts[model])

    return count


class ServerProcess:
    """The child process serving ``spec``; ``urls`` in spec order. A context manager."""

    def __init__(self, spec: list[dict[str, Any]]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.servers"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the scripted server process did not start")
        self.urls: list[str] = json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    spec = json.loads(sys.stdin.readline())
    servers = _build(spec)
    print(json.dumps([s.url for s in servers]), flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    for server in servers:
        server.close()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
