"""A confined assistant's network: the run's gateway and nothing else.

The assistant here is a real ``python -c`` probe run by ``confine.run_confined`` exactly as an adapter's
program is, against a real gateway (engine/gateway) forwarding to a scripted upstream on host loopback,
beside a plain TCP listener on host loopback that stands for "any other network": in its own network
namespace (``bwrap``, ``unshare``) the probe reaches the gateway through the bridge, with the token
still checked and a streamed reply intact, and cannot connect to the listener; under the old
``bwrap-hostnet`` it could.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchtui.engine.assistants import bridge, confine
from benchtui.engine.gateway import Gateway
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import RetryPolicy, make_provider
from benchtui.engine.sandbox import detect
from benchtui.engine.sandbox.host import tools
from benchtui.engine.sandbox.process import build_env
from tests.support import scripted

ANSWER = "the bridge streams every piece of this answer, in order, " * 4
PROBE = r"""
import json, socket, sys, time, urllib.request, urllib.error
base, token, other = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {}
def call(path, body=None, key=token):
    request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if key:
        request.add_header("authorization", "Bearer " + key)
    return urllib.request.urlopen(request, timeout=20)
seen["models"] = call("/models").status
try:
    call("/models", key="")
    seen["no_token"] = 200
except urllib.error.HTTPError as e:
    seen["no_token"] = e.code
body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
pieces, arrivals = [], []
with call("/chat/completions", body) as reply:
    for line in reply:
        line = line.decode().strip()
        if line.startswith("data:") and line != "data: [DONE]":
            delta = json.loads(line[5:])["choices"][0]["delta"].get("content")
            if delta:
                pieces.append(delta)
                arrivals.append(time.monotonic())
        elif line == "data: [DONE]":
            seen["done"] = True
seen["streamed"] = "".join(pieces)
seen["pieces"] = len(pieces)
seen["spread_s"] = arrivals[-1] - arrivals[0] if arrivals else 0.0
# Half-closed after the request, as some clients do: the reply, then the end of the stream, must come back.
host, port = base.split("//")[1].split("/")[0].split(":")
raw = socket.create_connection((host, int(port)), timeout=5)
head = "GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer %s\r\n\r\n"
raw.sendall((head % token).encode())
raw.shutdown(socket.SHUT_WR)
data = b""
try:
    while chunk := raw.recv(4096):
        data += chunk
    seen["half_close"] = data.split(b"\r\n")[0].decode()
except socket.timeout:
    seen["half_close"] = "no end of stream"
probe = socket.socket()
probe.settimeout(3)
try:
    probe.connect(("127.0.0.1", other))
    seen["other"] = "connected"
except OSError as e:
    seen["other"] = type(e).__name__
print(json.dumps(seen))
sys.exit(7)
"""


def _mode_or_skip(mode: str) -> None:
    base = "bwrap" if mode.startswith("bwrap") else mode
    reason = detect.unavailable_reason(base)
    if reason:
        pytest.skip(f"the {base} sandbox cannot run here: {reason}")
    if mode == "unshare" and not confine._launcher_works():
        pytest.skip("the unshare launcher's rohost/nocaps settings do not work here (mount_setattr: Linux 5.12)")


@pytest.fixture
def other_listener() -> Iterator[tuple[int, list[Any]]]:
    """A plain TCP server on host loopback, and the connections it accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[Any] = []

    def serve() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        server.close()
        for conn in accepted:
            conn.close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    script = scripted.Script(scripted.fixed(ANSWER), chunk_size=7, chunk_delay_s=0.01)
    with scripted.ScriptedOpenAI({"m": script}) as upstream:
        spec = ModelSpec(
            key="openai/m", name="m", provider="openai", display_name="M", base_url=upstream.url + "/v1", api_key="k"
        )
        provider = make_provider(spec, policy=RetryPolicy(max_retries=0, connect_timeout_s=2.0))
        try:
            with Gateway(spec, provider, deadline=None, output_cap=512) as served:
                yield served
        finally:
            provider.close()


def _probe(tmp_path: Path, gateway: Gateway, other: int, mode: str) -> tuple[confine.ProcessResult, dict[str, Any]]:
    work, home, tmp = tmp_path / "ws", tmp_path / "home", tmp_path / "tmp"
    for folder in (work, home, tmp):
        folder.mkdir()
    ended = confine.run_confined(
        [sys.executable, "-I", "-c", PROBE, gateway.openai_base_url, gateway.token, str(other)],
        build_env(str(home), str(tmp), []),
        cwd=work,
        writable=[work, home, tmp],
        readable=[],
        logs=tmp_path / "logs",
        deadline=time.monotonic() + 60,
        mode=mode,
        gateway=gateway,
    )
    assert ended.stdout.strip(), ended.stderr
    return ended, json.loads(ended.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["bwrap", "unshare"])
def test_a_confined_assistant_reaches_the_gateway_and_nothing_else(
    tmp_path: Path, gateway: Gateway, other_listener: tuple[int, list[Any]], mode: str
) -> None:
    _mode_or_skip(mode)
    other, accepted = other_listener
    ended, seen = _probe(tmp_path, gateway, other, mode)
    assert ended.sandbox == mode
    assert ended.returncode == 7, "the bridge exits with the assistant's own status"
    assert seen["models"] == 200
    assert seen["no_token"] == 401, "the run's token is checked through the bridge as on TCP"
    assert seen["streamed"] == ANSWER and seen.get("done") is True
    assert seen["pieces"] > 10 and seen["spread_s"] > 0.05, "the reply streamed through, piece by piece"
    assert seen["half_close"] == "HTTP/1.1 200 OK", "a half-close passes through both ways"
    assert seen["other"] == "ConnectionRefusedError", "its own loopback has nothing else on it"
    assert accepted == []
    assert gateway.usage().requests == 1


def test_under_the_hostnet_fallback_the_same_probe_reaches_any_loopback_server(
    tmp_path: Path, gateway: Gateway, other_listener: tuple[int, list[Any]]
) -> None:
    """What the own network namespace takes away: ``bwrap-hostnet`` (the fallback) shares the host's."""
    _mode_or_skip("bwrap-hostnet")
    other, accepted = other_listener
    ended, seen = _probe(tmp_path, gateway, other, "bwrap-hostnet")
    assert ended.sandbox == "bwrap-hostnet"
    assert seen["streamed"] == ANSWER
    assert seen["other"] == "connected"
    deadline = time.monotonic() + 2
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(accepted) == 1


def test_a_gateway_without_a_unix_socket_falls_back_to_the_host_network(
    tmp_path: Path, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mode_or_skip("bwrap")

    def refuse() -> str:
        raise OSError("AF_UNIX path too long")

    monkeypatch.setattr(gateway, "unix_socket", refuse)
    ended, seen = _probe(tmp_path, gateway, 9, "bwrap")
    assert ended.sandbox == "bwrap-hostnet"
    assert seen["streamed"] == ANSWER


def test_the_gateway_serves_the_same_routes_and_token_on_its_unix_socket(gateway: Gateway) -> None:
    path = gateway.unix_socket()
    assert gateway.unix_socket() == path, "made once per gateway"
    assert Path(path).parent.stat().st_mode & 0o077 == 0, "its folder is this user's only"

    def get(headers: str) -> bytes:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(path)
            conn.sendall(f"GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{headers}\r\n".encode())
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            return data

    assert get(f"authorization: Bearer {gateway.token}\r\n").startswith(b"HTTP/1.1 200")
    assert get("").startswith(b"HTTP/1.1 401")
    gateway.stop()
    assert not Path(path).parent.exists(), "stop removes the socket and its folder"


def test_the_bridge_refuses_a_malformed_command_line() -> None:
    with pytest.raises(ValueError):
        bridge.parse(["--listen", "127.0.0.1:1", "--", "true"])
    with pytest.raises(ValueError):
        bridge.parse(["--listen", "127.0.0.1:1", "--unix", "/x"])
    assert bridge.parse(["--listen", "127.0.0.1:8080", "--unix", "/s", "--", "a", "--", "b"]) == (
        "127.0.0.1",
        8080,
        "/s",
        ["a", "--", "b"],
    )


WRITES = r"""
for target in "$1/ok" "$HOME/ok" "$TMPDIR/ok" "$2"; do
    if (echo x > "$target") 2>/dev/null; then echo "wrote $target"; else echo "refused $target"; fi
done
if (echo probe > /proc/sys/kernel/domainname) 2>/dev/null; then echo "wrote sysctl"; else echo "refused sysctl"; fi
grep CapEff /proc/self/status
"""


@pytest.mark.parametrize("mode", ["bwrap", "unshare"])
def test_a_confined_assistant_writes_only_its_workspace_home_and_temp(tmp_path: Path, mode: str) -> None:
    """Outside the hidden folders too: a path in this repository, which the host lets benchtui write."""
    _mode_or_skip(mode)
    work, home, tmp = tmp_path / "ws", tmp_path / "home", tmp_path / "tmp"
    for folder in (work, home, tmp):
        folder.mkdir()
    outside = Path(__file__).parent / f".confine-probe-{uuid.uuid4().hex}"
    try:
        ended = confine.run_confined(
            [tools().sh, "-c", WRITES, "probe", str(work), str(outside)],
            build_env(str(home), str(tmp), []),
            cwd=work,
            writable=[work, home, tmp],
            readable=[],
            logs=tmp_path / "logs",
            deadline=time.monotonic() + 30,
            mode=mode,
        )
        assert not outside.exists(), "it wrote outside its workspace, home and temp"
    finally:
        outside.unlink(missing_ok=True)
    lines = ended.stdout.splitlines()
    assert ended.sandbox == mode
    assert [line.split()[0] for line in lines[:4]] == ["wrote", "wrote", "wrote", "refused"], ended.stdout
    assert (work / "ok").read_text() == "x\n" and (home / "ok").exists() and (tmp / "ok").exists()
    assert "refused sysctl" in lines, "/proc/sys is read-only"
    assert lines[-1].split() == ["CapEff:", "0000000000000000"], "no capability to undo a mount"


def _bridge(command: list[str], unix_path: str = "/nonexistent/gateway.sock") -> subprocess.Popen[str]:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    listen = f"127.0.0.1:{port}"
    return subprocess.Popen(
        [sys.executable, "-I", "-S", confine.BRIDGE, "--listen", listen, "--unix", unix_path, "--", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_bridge_passes_a_signal_on_and_exits_with_the_assistants_status() -> None:
    """Outside any sandbox, the bridge is a plain program: SIGTERM reaches the assistant, whose exit
    (its handler's 42, or 128+15 when the signal killed it) is the bridge's."""
    handled = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "print('up', flush=True)\n"
        "time.sleep(30)"
    )
    for command, expected in (([sys.executable, "-c", handled], 42), (["sh", "-c", "echo up; exec sleep 30"], 143)):
        running = _bridge(command)
        assert running.stdout is not None
        assert running.stdout.readline().strip() == "up"
        running.send_signal(signal.SIGTERM)
        assert running.wait(timeout=10) == expected


def test_the_bridge_fails_typed_when_it_cannot_listen() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-I", "-S", confine.BRIDGE, "--listen", f"127.0.0.1:{port}", "--unix", "/x", "--", "true"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    assert done.returncode == bridge.SETUP_FAILED
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


@pytest.mark.parametrize("mode", ["bwrap", "unshare"])
def test_a_hung_assistant_behind_the_bridge_is_killed_with_its_tree_at_the_deadline(
    tmp_path: Path, gateway: Gateway, mode: str
) -> None:
    _mode_or_skip(mode)
    marker = f"benchtui-bridge-test-{uuid.uuid4().hex}"
    work, home, tmp = tmp_path / "ws", tmp_path / "home", tmp_path / "tmp"
    for folder in (work, home, tmp):
        folder.mkdir()
    seen: set[int] = set()
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            seen.update(_marked(marker))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    ended = confine.run_confined(
        [tools().sh, "-c", 'setsid sleep 300 "$0" & sleep 300 "$0" & echo up; sleep 300', marker],
        build_env(str(home), str(tmp), []),
        cwd=work,
        writable=[work, home, tmp],
        readable=[],
        logs=tmp_path / "logs",
        deadline=time.monotonic() + 1.5,
        mode=mode,
        gateway=gateway,
    )
    elapsed = time.monotonic() - started
    watching.set()
    watcher.join()
    assert ended.timed_out and ended.returncode is None and ended.sandbox == mode
    assert ended.stdout.strip() == "up"
    assert elapsed < 5
    assert len(seen) >= 4, "the bridge, the script and both sleeps ran"
    time.sleep(0.2)
    assert _marked(marker) == [], "the bridge, the assistant and its children are all gone"


def _marked(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found
