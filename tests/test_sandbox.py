"""Tests for benchtui.engine.sandbox: real programs run as the check command."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchtui.engine import sandbox as sb
from benchtui.engine.sandbox import CheckOutcome, detect, detect_sandbox, host, identity, limits, run_check
from benchtui.engine.sandbox.argv import HIDDEN_DIRS, is_under

PY_DIR = [os.path.dirname(sys.executable)]
ALL_MODES = list(sb.MODES)
# .ci/run runs this file once more per mode with BENCHTUI_SANDBOX forcing it: then every check runs
# in that mode, and the tests made for the other modes skip.
FORCED = os.environ.get(sb.SANDBOX_ENV, "").strip().lower() or None
FORCED = None if FORCED == "auto" else FORCED
if FORCED is not None and (forced_reason := sb.unavailable_reason(FORCED)) is not None:
    pytest.skip(f"{sb.SANDBOX_ENV}={FORCED}: {forced_reason}", allow_module_level=True)
DETECTED = detect_sandbox()
EFFECTIVE = sb.sandbox_mode()  # the mode a check runs in when a test does not choose one


def _cgroup_ok() -> bool:
    cg = limits.make_pids_cgroup(8)
    if cg is None:
        return False
    cg.remove()
    return True


CGROUP_OK = _cgroup_ok()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace under pytest's tmp dir (a 0700 root-owned ancestor when root)."""
    d = tmp_path / "ws"
    d.mkdir()
    return d


@pytest.fixture(params=ALL_MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    m: str = request.param
    if FORCED is not None and m != FORCED:
        pytest.skip(f"{sb.SANDBOX_ENV}={FORCED}: the {m} mode is tested in the other runs")
    reason = sb.unavailable_reason(m)
    if reason is not None:
        pytest.skip(f"sandbox mode {m} unavailable: {reason}")
    monkeypatch.setattr(detect, "_FORCE_MODE", m)
    yield m


def run(command: str, ws: Path, timeout_s: float = 20, **kw: object) -> CheckOutcome:
    return run_check(command, ws, timeout_s, extra_path=PY_DIR, **kw)  # type: ignore[arg-type]


def _live_pids_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def _machine_responsive() -> float:
    t0 = time.monotonic()
    subprocess.run(["true"], check=True, timeout=10)
    return time.monotonic() - t0


# ---------------------------------------------------------------- basics


def test_detect_sandbox_is_cached_and_valid() -> None:
    assert DETECTED in ("bwrap", "unshare", "none")
    assert detect_sandbox() == DETECTED


def test_true_passes(ws: Path, mode: str) -> None:
    out = run("true", ws)
    assert out.exit_code == 0
    assert out.passed
    assert not out.timed_out and not out.truncated
    assert out.sandbox == mode
    assert out.resource_limit is None


def test_exit_code(ws: Path, mode: str) -> None:
    out = run("echo hello; echo oops >&2; exit 3", ws)
    assert out.exit_code == 3
    assert not out.passed
    assert "hello" in out.output and "oops" in out.output


def test_real_pytest_check_and_workspace_writes(ws: Path, mode: str) -> None:
    (ws / "test_x.py").write_text("def test_x():\n    assert 1 + 1 == 2\n")
    owner = os.stat(ws)
    out = run("python -m pytest -q -p no:cacheprovider && echo made > result.txt", ws, 60)
    assert out.passed, out.output
    assert "1 passed" in out.output
    assert (ws / "result.txt").read_text() == "made\n"
    # ownership handed back to the workspace owner (as root it was lent to a sandbox uid)
    for p in [ws, ws / "result.txt", ws / "test_x.py"]:
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (owner.st_uid, owner.st_gid)


@pytest.mark.parametrize("code", [0, 1, 2, 77, 125, 126, 127, 255])
def test_exit_codes_pass_through(ws: Path, mode: str, code: int) -> None:
    out = run(f"exit {code}", ws)
    assert out.exit_code == code
    assert out.passed == (code == 0)


# SIGPIPE and SIGXFSZ: Python (so benchtui's init) ignores them, and an ignored signal survives exec.
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ])
def test_signal_exit_code(ws: Path, mode: str, sig: signal.Signals) -> None:
    # The shell signals itself: a no-op for PID 1 of a PID namespace, which is why the check never is.
    out = run(f"kill -{sig.name.removeprefix('SIG')} $$; echo still-here", ws)
    assert out.exit_code == 128 + sig, out.output
    assert "still-here" not in out.output
    assert not out.timed_out


def test_python_check_killed_by_a_signal(ws: Path, mode: str) -> None:
    out = run("python -c 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'", ws)
    assert out.exit_code == 128 + signal.SIGSEGV, out.output


def test_check_is_never_pid_1(ws: Path, mode: str) -> None:
    out = run("echo $$ && python -c 'import os; print(os.getpid())'", ws)
    assert out.passed, out.output
    pids = [int(word) for word in out.output.split()]
    assert len(pids) == 2 and 1 not in pids, pids


def test_output_decoding_keeps_ansi_and_replaces_bad_utf8(ws: Path) -> None:
    out = run(r"printf '\033[31mred\033[0m caf\303\251 \377\n'", ws)
    assert "\x1b[31mred\x1b[0m" in out.output
    assert "café" in out.output
    assert "\ufffd" in out.output


# ---------------------------------------------------------------- termination


def test_timeout_busy_loop(ws: Path) -> None:
    t0 = time.monotonic()
    out = run('python -c "while True: pass"', ws, timeout_s=2)
    elapsed = time.monotonic() - t0
    assert out.timed_out
    assert out.exit_code is None
    assert not out.passed
    assert elapsed <= 2 + 2, elapsed


def test_timeout_with_grandchild_holding_stdout(ws: Path, mode: str) -> None:
    marker = f"benchtui-canary-{uuid.uuid4().hex}"
    t0 = time.monotonic()
    out = run(f"python -c 'import time; time.sleep(1000)' {marker} & sleep 1000", ws, timeout_s=1.5)
    elapsed = time.monotonic() - t0
    assert out.timed_out and out.exit_code is None
    assert elapsed <= 1.5 + 2, elapsed
    assert _live_pids_with(marker) == []


def test_background_process_does_not_block_or_survive(ws: Path, mode: str) -> None:
    marker = f"benchtui-canary-{uuid.uuid4().hex}"
    t0 = time.monotonic()
    out = run(
        f"python -c 'import time; time.sleep(1000)' {marker} & echo $! > pidfile; echo started",
        ws,
        timeout_s=10,
    )
    elapsed = time.monotonic() - t0
    assert out.exit_code == 0, out.output
    assert "started" in out.output
    assert elapsed < 3, elapsed
    assert _live_pids_with(marker) == []
    if mode == "none":  # same PID namespace: the pid the check saw is ours too
        pid = int((ws / "pidfile").read_text())
        assert not Path(f"/proc/{pid}").exists() or _live_pids_with(marker) == []


def test_setsid_escape_does_not_survive(ws: Path, mode: str) -> None:
    if mode == "none" and os.geteuid() != 0:
        pytest.skip("without namespaces or root a setsid'd process can escape the process group")
    marker = f"benchtui-canary-{uuid.uuid4().hex}"
    out = run(
        f"setsid python -c 'import time; time.sleep(1000)' {marker} </dev/null >/dev/null 2>&1 & sleep 0.3",
        ws,
        timeout_s=10,
    )
    assert out.exit_code == 0, out.output
    if mode == "none" and not CGROUP_OK and os.geteuid() == 0:
        pytest.skip("no pids cgroup: an escaped process in 'none' mode is not tracked")
    assert _live_pids_with(marker) == []


_ORPHANS = """
import os, sys, time
r, w = os.pipe()
if os.fork() == 0:  # a child that leaves two orphans behind and exits at once
    quick = os.fork()
    if quick == 0:
        time.sleep(0.3)
        os._exit(0)
    if os.fork() == 0:
        os.execvp("python", ["python", "-c", "import time; time.sleep(1000)", sys.argv[1]])
    os.write(w, str(quick).encode())
    os._exit(0)
os.wait()
quick = int(os.read(r, 32))
deadline = time.monotonic() + 5
while time.monotonic() < deadline:  # it exits after 0.3 s; then someone must reap it, or it stays "Z"
    try:
        state = open(f"/proc/{quick}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
        break
    time.sleep(0.05)
print("orphan:", state)
"""


def test_orphans_are_reaped_and_do_not_hold_the_check(ws: Path, mode: str) -> None:
    marker = f"benchtui-canary-{uuid.uuid4().hex}"
    (ws / "orphans.py").write_text(_ORPHANS)
    t0 = time.monotonic()
    # exec: the script is the check's own process, as `sh -c CMD` makes it wherever /bin/sh is bash
    # (which execs a last command); dash instead forks it and reaps while it waits.
    out = run(f"exec python orphans.py {marker}", ws, timeout_s=15)
    elapsed = time.monotonic() - t0
    assert out.exit_code == 0, out.output
    assert elapsed < 4, elapsed  # the orphan sleeping 1000 s does not hold the check
    assert _live_pids_with(marker) == []
    if mode == "none":
        return  # no PID namespace: orphans go to the host's init, not ours to reap
    assert "orphan: gone" in out.output, out.output  # not a zombie ("Z")


def test_sigterm_to_the_check_tree_ends_it(ws: Path, mode: str) -> None:
    t0 = time.monotonic()
    out = run("sleep 30 & kill -TERM 0; echo still-here; sleep 5", ws, timeout_s=15)
    assert out.exit_code == 128 + signal.SIGTERM, out.output
    assert "still-here" not in out.output
    assert time.monotonic() - t0 < 4


def _namespace_init(marker: str) -> tuple[int | None, bool]:
    """(host pid of the check's PID 1, whether its first child runs yet), found by the marker."""
    init, child = None, False
    for pid in _live_pids_with(marker):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
        if len(nspid) >= 2 and nspid[-1] == "1":
            init = pid
        elif len(nspid) >= 2:
            child = True
    return init, child


def test_signals_to_the_init_reach_the_check(ws: Path, mode: str) -> None:
    if mode != "unshare":
        pytest.skip(
            f"benchtui's init is PID 1 only in the unshare sandbox ({mode}: "
            + ("bwrap runs its own)" if mode == "bwrap" else "no PID namespace)")
        )
    marker = f"benchtui-canary-{uuid.uuid4().hex}"
    result: list[CheckOutcome] = []
    th = threading.Thread(target=lambda: result.append(run(f"sleep 30 # {marker}", ws, timeout_s=15)))
    th.start()
    deadline = time.monotonic() + 10
    init, child = None, False
    while time.monotonic() < deadline and not (init and child):
        time.sleep(0.02)
        init, child = _namespace_init(marker)
    assert init is not None and child, "the check never started"
    os.kill(init, signal.SIGTERM)  # what `kill <pid>` from the host does: forwarded to the check
    th.join(20)
    (out,) = result
    assert out.exit_code == 128 + signal.SIGTERM, out
    assert not out.timed_out and out.duration_s < 5


def test_cancel_stops_check(ws: Path) -> None:
    ev = threading.Event()
    timer = threading.Timer(0.5, ev.set)
    timer.start()
    t0 = time.monotonic()
    try:
        out = run("sleep 30", ws, timeout_s=30, cancel=ev)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - t0
    assert out.exit_code is None
    assert not out.timed_out
    assert not out.passed
    assert elapsed < 1.5, elapsed


def test_cancel_already_set(ws: Path) -> None:
    ev = threading.Event()
    ev.set()
    out = run("sleep 30", ws, timeout_s=30, cancel=ev)
    assert out.exit_code is None and not out.passed
    assert out.duration_s < 1.5


# ---------------------------------------------------------------- limits


def _process_limit_available() -> bool:
    if os.geteuid() != 0:
        return True  # RLIMIT_NPROC is enforced for non-root users
    if EFFECTIVE in ("bwrap", "unshare"):
        return True  # per-run unprivileged uid
    return CGROUP_OK


@pytest.mark.skipif(not _process_limit_available(), reason="no way to limit processes here")
def test_fork_bomb_is_contained(ws: Path) -> None:
    stop = threading.Event()
    worst = [0.0]

    def watch() -> None:
        while not stop.is_set():
            worst[0] = max(worst[0], _machine_responsive())
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    t0 = time.monotonic()
    try:
        # A bomb that keeps retrying instead of dying on the first failed fork.
        out = run(
            'python -c "\nimport os, time\nwhile True:\n'
            "    try:\n        os.fork()\n    except OSError as e:\n"
            '        print(e, flush=True); time.sleep(0.05)"',
            ws,
            timeout_s=4,
        )
    finally:
        stop.set()
        watcher.join()
    elapsed = time.monotonic() - t0
    assert not out.passed
    assert elapsed <= 4 + 2, elapsed
    assert out.resource_limit == "processes", out.output[-500:]
    assert worst[0] < 2.0, worst
    assert _machine_responsive() < 1.0


@pytest.mark.skipif(not _process_limit_available(), reason="no way to limit processes here")
def test_plain_fork_bomb(ws: Path, mode: str) -> None:
    if mode == "none" and os.geteuid() == 0 and not CGROUP_OK:
        pytest.skip("root without sandbox or pids cgroup: no process limit")
    out = run('python -c "import os\nwhile True: os.fork()"', ws, timeout_s=5)
    assert not out.passed
    assert out.resource_limit == "processes", out.output[-500:]
    assert _machine_responsive() < 1.0


def test_shell_fork_bomb(ws: Path) -> None:
    if not _process_limit_available():
        pytest.skip("no way to limit processes here")
    t0 = time.monotonic()
    out = run("f() { f | f & }; f; sleep 2; exit 1", ws, timeout_s=5)
    assert not out.passed
    assert time.monotonic() - t0 <= 5 + 2
    assert _machine_responsive() < 1.0


def test_small_process_limit(ws: Path) -> None:
    if not _process_limit_available():
        pytest.skip("no way to limit processes here")
    script = (
        "import os, sys, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(100):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(3); os._exit(0)\n"
        "        n += 1\n"
        "except OSError:\n"
        "    print('stopped at', n); sys.exit(7)\n"
    )
    (ws / "forker.py").write_text(script)
    out = run("python forker.py", ws, timeout_s=15, max_processes=20)
    assert out.exit_code == 7, out.output
    n = int(re.search(r"stopped at (\d+)", out.output).group(1))  # type: ignore[union-attr]
    assert 5 <= n < 20
    assert out.resource_limit == "processes"


def test_memory_limit(ws: Path, mode: str) -> None:
    out = run('python -c "b = bytearray(3*1024**3)"', ws, timeout_s=20)
    assert out.exit_code not in (0, None)
    assert "MemoryError" in out.output
    assert out.resource_limit == "memory"


def test_memory_within_limit_is_fine(ws: Path) -> None:
    out = run('python -c "b = bytearray(200*1024**2); print(len(b))"', ws, timeout_s=20)
    assert out.passed, out.output


def test_file_size_limit(ws: Path, mode: str) -> None:
    out = run("head -c 3000000 /dev/zero > big.bin", ws, timeout_s=10, max_file_bytes=1_000_000)
    assert not out.passed
    assert out.resource_limit == "file_size"
    assert (ws / "big.bin").stat().st_size <= 1_000_000


def test_huge_output_is_capped_and_memory_stays_flat(ws: Path) -> None:
    cap = 100_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    t0 = time.monotonic()
    out = run(
        "python -c \"import sys; [sys.stdout.write('x'*1048576) for _ in range(1024)]\"",
        ws,
        timeout_s=60,
        output_cap_bytes=cap,
    )
    elapsed = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert out.passed, out.output[-300:]
    assert out.truncated
    assert len(out.output) <= cap + 1024
    assert out.output.startswith("xxxx")
    assert elapsed < 30, elapsed
    assert after - before < 100 * 1024, (before, after)


def test_huge_output_yes_head(ws: Path) -> None:
    out = run("yes | head -c 1G", ws, timeout_s=60, output_cap_bytes=1_000_000)
    assert out.exit_code == 0
    assert out.truncated
    assert len(out.output) <= 1_000_000
    assert out.output.startswith("y\ny\n")


def test_output_at_cap_not_truncated(ws: Path) -> None:
    out = run("printf 'abcd'", ws, output_cap_bytes=4)
    assert out.output == "abcd"
    assert not out.truncated
    out = run("printf 'abcde'", ws, output_cap_bytes=4)
    assert out.output == "abcd"
    assert out.truncated


# ---------------------------------------------------------------- isolation


@pytest.fixture
def loopback_server() -> Iterator[int]:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    port: int = srv.getsockname()[1]
    stop = threading.Event()
    hits: list[int] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            hits.append(1)
            conn.sendall(b"hello-from-host\n")
            conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    yield port
    stop.set()
    th.join(2)
    srv.close()


def test_network_is_isolated(ws: Path, mode: str, loopback_server: int) -> None:
    # sanity: the server really answers from the host
    with socket.create_connection(("127.0.0.1", loopback_server), timeout=2) as c:
        assert c.recv(100).startswith(b"hello-from-host")
    cmd = (
        "python -c \"import socket; s = socket.create_connection(('127.0.0.1', "
        f'{loopback_server}), timeout=2); print(s.recv(100))"'
    )
    out = run(cmd, ws, timeout_s=15)
    if mode == "none":
        assert out.passed  # no isolation: documented, warned
        pytest.skip("sandbox 'none' has no network isolation")
    assert not out.passed
    assert "hello-from-host" not in out.output
    assert re.search(r"Connection refused|unreachable|Errno", out.output), out.output


def test_env_is_allowlisted(ws: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-canary")
    monkeypatch.setenv("MY_SECRET", "canary-secret")
    monkeypatch.setenv("SOMETHING_ELSE", "canary-else")
    out = run("env", ws)
    assert out.passed
    env = dict(line.split("=", 1) for line in out.output.splitlines() if "=" in line)
    assert not [k for k in env if re.search("KEY|TOKEN|SECRET", k, re.I)]
    assert "canary" not in out.output
    assert "SOMETHING_ELSE" not in env
    assert set(env) <= {
        "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED", "TERM", "NO_COLOR", "PWD", "SHLVL", "_", "OLDPWD",
    }  # fmt: skip
    assert env["PATH"].split(":")[0] == PY_DIR[0]
    assert env["LANG"] == env["LC_ALL"] == "C.UTF-8"
    assert env["TERM"] == "dumb" and env["NO_COLOR"] == "1"
    assert env["PYTHONHASHSEED"] == "0" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    home, tmpdir = env["HOME"], env["TMPDIR"]
    assert home != os.path.expanduser("~")
    assert not os.path.exists(home)
    assert not os.path.exists(tmpdir)


def test_home_and_tmpdir_writable(ws: Path, mode: str) -> None:
    out = run('echo a > "$HOME/f" && echo b > "$TMPDIR/g" && cat "$HOME/f" "$TMPDIR/g"', ws)
    assert out.passed, out.output
    assert out.output.split() == ["a", "b"]


def test_cannot_write_outside_workspace(ws: Path, mode: str) -> None:
    if mode == "none":
        pytest.skip("no filesystem isolation in 'none' mode")
    target = Path("/work") if Path("/work").is_dir() else Path("/usr")
    victim = target / f"benchtui-escape-{uuid.uuid4().hex}"
    out = run(f"touch {victim}; touch /etc/{victim.name}", ws)
    try:
        assert not victim.exists()
        assert not Path(f"/etc/{victim.name}").exists()
        assert out.exit_code != 0
    finally:
        for p in (victim, Path(f"/etc/{victim.name}")):
            if p.exists():
                p.unlink()


def test_secrets_and_other_temp_files_hidden(ws: Path, mode: str, tmp_path: Path) -> None:
    if mode == "none":
        pytest.skip("no filesystem isolation in 'none' mode")
    sibling = tmp_path / "sibling-secret.txt"
    sibling.write_text("canary-sibling")
    out = run(f"cat {sibling}; ls -a /root /home; cat /etc/shadow; echo done", ws)
    assert "canary-sibling" not in out.output
    if os.geteuid() == 0:
        # /etc/shadow is unreadable for the sandbox uid
        assert not re.search(r"^root:[^:]*:\d*:", out.output, re.M), out.output
    assert "done" in out.output


def test_none_mode_warns_once(ws: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(detect, "_FORCE_MODE", "none")
    monkeypatch.setattr(host, "_warned", set())
    with caplog.at_level("WARNING", logger="benchtui.engine.sandbox"):
        run("true", ws)
        run("true", ws)
    msgs = [r for r in caplog.records if "isolation" in r.getMessage()]
    assert len(msgs) == 1


def test_sandbox_env_forces_the_mode(
    ws: Path, mode: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(detect, "_FORCE_MODE", None)  # the variable alone chooses
    monkeypatch.setattr(host, "_warned", set())
    monkeypatch.setenv(sb.SANDBOX_ENV, mode.upper())
    with caplog.at_level("WARNING", logger="benchtui.engine.sandbox"):
        out = run("true", ws)
    assert out.passed and out.sandbox == mode
    warnings = [r.getMessage() for r in caplog.records]
    # a chosen 'none' says so, and does not tell the user to install bubblewrap
    assert warnings == (
        [f"benchtui sandbox: {sb.SANDBOX_ENV}=none; check commands run without isolation"] if mode == "none" else []
    )


def test_sandbox_env_auto_detects(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sb.SANDBOX_ENV, "auto")
    assert run("true", ws).sandbox == DETECTED


def test_sandbox_env_rejects_an_unknown_mode(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sb.SANDBOX_ENV, "docker")
    with pytest.raises(ValueError, match="BENCHTUI_SANDBOX='docker': expected one of bwrap, unshare, none or auto"):
        run("true", ws)


def test_sandbox_env_never_falls_back_from_a_mode_that_does_not_work(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a machine without bubblewrap: the forced mode is an error that names the tool, never 'none'.
    monkeypatch.setattr(host, "_tools_cache", dataclasses.replace(host.tools(), bwrap=None))
    monkeypatch.setenv(sb.SANDBOX_ENV, "bwrap")
    assert sb.unavailable_reason("bwrap") == "bwrap not installed (needed by the bwrap sandbox)"
    with pytest.raises(sb.SandboxUnavailable, match="BENCHTUI_SANDBOX=bwrap, but bwrap not installed"):
        run("true", ws)


def test_missing_workspace_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_check("true", tmp_path / "nope", 5)


def test_concurrent_checks(tmp_path: Path) -> None:
    results: list[CheckOutcome] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        d = tmp_path / f"w{i}"
        d.mkdir()
        o = run(f"echo run{i} > out.txt && cat out.txt && exit {i}", d)
        with lock:
            results.append(o)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.exit_code or 0 for r in results) == [0, 1, 2, 3]
    for r in results:
        assert f"run{r.exit_code}" in r.output


def test_loopback_inside_sandbox_works(ws: Path, mode: str) -> None:
    # A check may start its own server on 127.0.0.1 (inside its own network namespace).
    script = (
        "import socket, threading\n"
        "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
        "def serve():\n"
        "    c, _ = srv.accept(); c.sendall(b'inner-ok'); c.close()\n"
        "threading.Thread(target=serve).start()\n"
        "s = socket.create_connection(srv.getsockname(), timeout=2)\n"
        "print(s.recv(100).decode())\n"
    )
    (ws / "lo.py").write_text(script)
    out = run("python lo.py", ws)
    assert out.passed, out.output
    assert "inner-ok" in out.output


@pytest.mark.parametrize("no_cgroup", [False, True])
def test_fork_bomb_per_mode_with_and_without_cgroup(
    ws: Path, mode: str, no_cgroup: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "none" and os.geteuid() == 0 and (no_cgroup or not CGROUP_OK):
        pytest.skip("root without sandbox or pids cgroup: no process limit")
    monkeypatch.setattr(limits, "_DISABLE_CGROUP", no_cgroup)
    script = (
        "import os, sys, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(5); os._exit(0)\n"
        "        n += 1\n"
        "except OSError as e:\n"
        "    print('stopped at', n, e); sys.exit(7)\n"
    )
    (ws / "forker.py").write_text(script)
    out = run("python forker.py", ws, timeout_s=15, max_processes=30)
    assert out.exit_code == 7, out.output
    assert out.resource_limit == "processes"
    assert out.duration_s < 3


def _outside_tmp_base() -> Path | None:
    for cand in ("/opt", "/srv", "/var/cache"):
        if os.path.isdir(cand) and os.access(cand, os.W_OK):
            return Path(cand)
    return None


@pytest.mark.parametrize("parent_mode", [0o755, 0o700])
def test_workspace_outside_tmp(mode: str, parent_mode: int) -> None:
    base = _outside_tmp_base()
    if base is None:
        pytest.skip("no writable directory outside /tmp")
    parent = base / f"benchtui-sandbox-test-{uuid.uuid4().hex}"
    parent.mkdir()
    try:
        parent.chmod(parent_mode)
        ws = parent / "ws"
        ws.mkdir()
        (ws / "test_y.py").write_text("def test_y():\n    assert True\n")
        out = run("python -m pytest -q -p no:cacheprovider && touch done.txt", ws, 60)
        assert out.passed, out.output
        assert (ws / "done.txt").exists()
        assert os.stat(ws / "done.txt").st_uid == os.getuid()
    finally:
        import shutil

        shutil.rmtree(parent, ignore_errors=True)


def test_private_tmp(ws: Path, mode: str) -> None:
    name = f"benchtui-private-{uuid.uuid4().hex}"
    out = run(f"echo x > /tmp/{name} && cat /tmp/{name} && echo y > /var/tmp/{name}", ws)
    try:
        assert out.passed, out.output
        if mode != "none":
            assert not Path(f"/tmp/{name}").exists()
            assert not Path(f"/var/tmp/{name}").exists()
    finally:
        for d in ("/tmp", "/var/tmp"):
            Path(d, name).unlink(missing_ok=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership lending happens only as root")
def test_workspace_ownership_restored_exactly(ws: Path, mode: str) -> None:
    (ws / "sub").mkdir()
    (ws / "sub" / "mine.txt").write_text("a")
    other = ws / "other.txt"
    other.write_text("b")
    os.chown(other, 1234, 4321)
    os.symlink("/etc/passwd", ws / "link")
    out = run("echo new > sub/new.txt && mkdir -p made/deeper && echo x > made/deeper/f", ws)
    assert out.passed, out.output
    me = (os.getuid(), os.getgid())
    for p in [ws, ws / "sub", ws / "sub" / "mine.txt", ws / "sub" / "new.txt", ws / "made" / "deeper" / "f"]:
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == me, p
    st = os.lstat(other)
    assert (st.st_uid, st.st_gid) == (1234, 4321)
    st = os.lstat("/etc/passwd")
    assert st.st_uid == 0


def test_unshare_mode_needs_no_program_but_the_interpreter(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unshare mode is one step: benchtui's launcher makes the namespaces, mounts and limits itself,
    so it works with none of util-linux's programs and still holds the limits and the uid drop."""
    if FORCED is not None and FORCED != "unshare":
        pytest.skip(f"{sb.SANDBOX_ENV}={FORCED}: the unshare mode is tested in the other runs")
    if sb.unavailable_reason("unshare") is not None:
        pytest.skip(f"sandbox mode unshare unavailable: {sb.unavailable_reason('unshare')}")
    bare = dataclasses.replace(host.tools(), unshare=None, mount=None, prlimit=None, setpriv=None)
    monkeypatch.setattr(host, "_tools_cache", bare)
    monkeypatch.setattr(detect, "_probed", {})
    assert sb.unavailable_reason("unshare") is None
    monkeypatch.setattr(detect, "_FORCE_MODE", "unshare")
    out = run("ulimit -v; ulimit -f; id -u; echo $$; hostname; grep NoNewPrivs /proc/self/status", ws)
    assert out.passed, out.output
    address_kib, file_blocks, uid, pid, hostname, no_new_privs = out.output.split("\n")[:6]
    assert address_kib == str(2 * 1024**3 // 1024) and file_blocks == str(256 * 1024**2 // 512)
    assert pid != "1" and hostname == "sandbox"
    if os.geteuid() == 0:
        assert int(uid) >= identity.UID_BASE and no_new_privs.split() == ["NoNewPrivs:", "1"]


def test_unshare_setup_failure_names_the_step(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A launcher step that fails stops the check with exit 125 and a line saying which step."""
    from benchtui.engine.sandbox.argv import Layout
    from benchtui.engine.sandbox.launcher import SETUP_FAILED, launcher_argv

    if sb.unavailable_reason("unshare") is not None:
        pytest.skip(f"sandbox mode unshare unavailable: {sb.unavailable_reason('unshare')}")
    missing = str(ws / "gone")
    argv = [*launcher_argv(Layout(hidden=["/tmp"], rw_binds=[missing]), "/"), "/bin/true"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    assert done.returncode == SETUP_FAILED
    assert done.stderr.strip() == f"benchtui sandbox: opening {missing}: No such file or directory"


def test_concurrent_processes_get_different_check_uids() -> None:
    """The per-run uid comes from the pid and a slot, not from a scan of /proc: two benchtui processes
    at once never hand out the same one, and one process never hands out a uid still in use."""
    code = "from benchtui.engine.sandbox import identity; print(identity.allocate_uid())"
    uids = {int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout) for _ in range(3)}
    assert len(uids) == 3
    first, second = identity.allocate_uid(), identity.allocate_uid()
    assert first != second
    identity.release_uid(first)
    assert identity.allocate_uid() == first
    identity.release_uid(first)
    identity.release_uid(second)


# ---------------------------------------------------------------- the unshare mode's host view and capabilities

# Run as the check: what a hostile check would try once it is in (module doc of sandbox/launcher.py). Every
# attempt is reported, never raised: the test wants to see all of them.
ESCAPES = r"""
import ctypes, json, os, sys

libc = ctypes.CDLL(None, use_errno=True)
mine, canary = sys.argv[1], sys.argv[2]
seen = {}


def attempt(name, action):
    try:
        action()
        seen[name] = "done"
    except OSError as e:
        seen[name] = e.strerror or str(e)


def write(path, text="x\n"):
    with open(path, "w") as f:
        f.write(text)


def rewrite(path):  # the same value back: the attempt is what counts
    with open(path) as f:
        value = f.read()
    write(path, value)


def umount(path):
    if libc.umount2(path.encode(), 2) != 0:  # MNT_DETACH: even with mounts below it
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


attempt("workspace", lambda: write("written-by-check"))
attempt("home", lambda: write(os.environ["HOME"] + "/f"))
attempt("tmpdir", lambda: write(os.environ["TMPDIR"] + "/f"))
attempt("outside", lambda: write(mine + "/written-by-check"))
child = os.fork()
if child == 0:  # a user namespace of its own, where it has every capability again
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        os._exit(2)
    os._exit(0 if libc.umount2(b"/tmp", 2) == 0 else 1)
nested = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
seen["nested umount /tmp"] = {0: "done", 1: "refused", 2: "no user namespace"}[nested]
attempt("umount /home", lambda: umount("/home"))
attempt("umount /tmp", lambda: umount("/tmp"))
seen["host /tmp seen"] = os.path.exists(canary)
attempt("/proc/sys/kernel/domainname", lambda: rewrite("/proc/sys/kernel/domainname"))
attempt("/proc/sys/net/ipv4/ip_forward", lambda: rewrite("/proc/sys/net/ipv4/ip_forward"))
with open("/proc/self/status") as f:
    status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
for key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs"):
    seen[key] = status[key].strip()
print(json.dumps(seen))
"""

# Runs run_check as whichever uid starts it, in the unshare mode, detection included (the variable, not the
# test hook: a forced mode whose probe fails is an error).
HARNESS = r"""
import json, os, sys
from benchtui.engine.sandbox import run_check
base = sys.argv[1]
probe = os.path.join(base, "escapes.py")
out = run_check(f"{sys.executable} {probe} {base}/mine {sys.argv[2]}", os.path.join(base, "ws"), 60)
print(json.dumps({"sandbox": out.sandbox, "exit_code": out.exit_code, "output": out.output}))
"""

NOBODY = 65534
REPO = Path(__file__).resolve().parent.parent


def _base_outside_hidden_folders() -> Path | None:
    """A folder for the caller's own files that the sandbox leaves in its host view (not under /tmp,
    /run, /root, /home), every ancestor traversable by another uid."""
    candidates = [*(Path(p) for p in ("/srv", "/opt", "/var/cache")), REPO.parent]
    for cand in candidates:
        hidden = any(is_under(str(cand), h) for h in HIDDEN_DIRS)
        if (
            cand.is_dir()
            and os.access(cand, os.W_OK)
            and not hidden
            and all(os.stat(p).st_mode & 0o001 for p in [cand, *cand.parents])
        ):
            return cand
    return None


def _interpreter_for(uid: int, base: Path) -> tuple[list[str], str] | None:
    """(the prefix that becomes ``uid``, an interpreter ``uid`` can run benchtui with): benchtui's own
    where that uid can reach it, else the system's Python of the same version."""
    setpriv = host.tools().setpriv
    if setpriv is None:
        return None
    prefix = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        # It must also start itself again (the launcher is a fresh interpreter, run without setpriv).
        again = (
            "import benchtui.engine.sandbox, subprocess, sys\n"
            "subprocess.run([sys.executable, '-I', '-S', '-c', 'import ctypes'], check=True)"
        )
        trial = [*prefix, python, "-c", again]
        env = {"PATH": os.pathsep.join(host.SYSTEM_PATH), "PYTHONPATH": str(REPO)}
        if os.path.exists(python) and subprocess.run(trial, env=env, cwd=base, capture_output=True).returncode == 0:
            return prefix, python
    return None


@pytest.mark.parametrize("who", ["benchtui's uid", "an unprivileged uid"])
def test_an_unshare_check_writes_only_its_folders_and_keeps_no_capability(who: str) -> None:
    """The hole a non-root benchtui left open: the check was root in its user namespace, with every
    capability, over a host view writable wherever benchtui's uid may write. It wrote benchtui's own files
    outside the hidden folders, unmounted the tmpfs that hides /tmp and /home (the host's /tmp showed
    through) and wrote its network namespace's sysctls. As root the check is a throw-away uid, which must
    hold the same line. The workspace, HOME and TMPDIR stay writable."""
    if FORCED is not None and FORCED != "unshare":
        pytest.skip(f"{sb.SANDBOX_ENV}={FORCED}: the unshare mode is tested in the other runs")
    if sb.unavailable_reason("unshare") is not None:
        pytest.skip(f"sandbox mode unshare unavailable: {sb.unavailable_reason('unshare')}")
    if who == "an unprivileged uid" and os.geteuid() != 0:
        pytest.skip("benchtui is not root: its own uid is the unprivileged one")
    parent = _base_outside_hidden_folders()
    if parent is None:
        pytest.skip("no folder outside /tmp, /run, /root and /home to put the caller's files in")
    base = parent / f"benchtui-unshare-escape-{uuid.uuid4().hex}"
    canary = Path("/tmp") / f"benchtui-host-tmp-{uuid.uuid4().hex}"
    try:
        for folder in (base, base / "ws", base / "mine"):
            folder.mkdir()
        (base / "escapes.py").write_text(ESCAPES)
        canary.write_text("the host's /tmp")
        canary.chmod(0o644)
        command = [sys.executable]
        if who == "an unprivileged uid":
            for path in (base, base / "ws", base / "mine", base / "escapes.py"):
                os.chown(path, NOBODY, NOBODY)
            found = _interpreter_for(NOBODY, base)
            if found is None:
                pytest.skip(f"no Python that uid {NOBODY} can run benchtui with (setpriv, {sys.executable})")
            command = [*found[0], found[1]]
        env = {"PATH": os.pathsep.join(host.SYSTEM_PATH), "PYTHONPATH": str(REPO), sb.SANDBOX_ENV: "unshare"}
        done = subprocess.run(
            [*command, "-c", HARNESS, str(base), str(canary)], env=env, cwd=base, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        ended = json.loads(done.stdout)
        assert ended["sandbox"] == "unshare" and ended["exit_code"] == 0, ended["output"]
        seen = json.loads(ended["output"].strip().splitlines()[-1])
        outside = base / "mine" / "written-by-check"
        assert not outside.exists(), f"the check wrote {outside}: {seen}"
        assert (base / "ws" / "written-by-check").exists()
        assert seen["workspace"] == seen["home"] == seen["tmpdir"] == "done", seen
        assert seen["outside"] != "done", seen
        assert seen["umount /home"] != "done" and seen["umount /tmp"] != "done", seen
        assert seen["nested umount /tmp"] != "done" and not seen["host /tmp seen"], seen
        assert seen["/proc/sys/kernel/domainname"] != "done", seen
        assert seen["/proc/sys/net/ipv4/ip_forward"] != "done", seen
        assert seen["CapEff"] == seen["CapPrm"] == seen["CapBnd"] == "0000000000000000", seen
        assert seen["NoNewPrivs"] == "1", seen
    finally:
        shutil.rmtree(base, ignore_errors=True)
        canary.unlink(missing_ok=True)


# As on a kernel older than Linux 5.12: mount_setattr(2) (442 in the unified syscall table) answers ENOSYS,
# through a seccomp filter that this process and every process it starts inherit.
WITHOUT_MOUNT_SETATTR = r"""
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
program = b"".join(struct.pack("HBBI", *op) for op in [
    (0x20, 0, 0, 0),  # load the syscall number
    (0x15, 0, 1, 442),  # mount_setattr?
    (0x06, 0, 0, 0x00050000 | 38),  # then fail with ENOSYS
    (0x06, 0, 0, 0x7FFF0000),  # else allow
])
buffer = ctypes.create_string_buffer(program)
fprog = struct.pack("HxxxxxxP", 4, ctypes.addressof(buffer))
assert libc.prctl(38, 1, None, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS, to load a filter without privileges
assert libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) == 0, ctypes.get_errno()  # PR_SET_SECCOMP, filter
"""


def test_without_mount_setattr_the_unshare_mode_does_not_work_and_says_why() -> None:
    """Where the launcher cannot make the host read-only, unshare checks would keep the hole above: the
    mode is refused with the reason (so a forced mode is an error and detection falls back), never run
    with less than it promises."""
    if sb.unavailable_reason("unshare") is not None:
        pytest.skip(f"sandbox mode unshare unavailable: {sb.unavailable_reason('unshare')}")
    asks = (
        "import dataclasses, json\n"
        "from benchtui.engine.sandbox import detect, host\n"
        "host._tools_cache = dataclasses.replace(host.tools(), bwrap=None)  # no bwrap to fall back on\n"
        "reason = detect.unavailable_reason('unshare')\n"
        "try:\n"
        "    forced = detect.sandbox_mode()\n"
        "except detect.SandboxUnavailable as e:\n"
        "    forced = str(e)\n"
        "print(json.dumps([reason, detect.detect_sandbox(), forced]))\n"
    )
    env = {"PATH": os.pathsep.join(host.SYSTEM_PATH), "PYTHONPATH": str(REPO), sb.SANDBOX_ENV: "unshare"}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_MOUNT_SETATTR + asks], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    reason, detected, forced = json.loads(done.stdout)
    release = os.uname().release
    assert reason == (
        "the unshare launcher cannot make the host read-only here (Function not implemented): "
        f"mount_setattr(2) needs Linux 5.12 or later, this is {release}; install bubblewrap"
    )
    assert detected == "none"
    assert forced == f"{sb.SANDBOX_ENV}=unshare, but {reason}"
