"""The only way out of a confined assistant's network namespace: its own loopback's gateway port,
forwarded to the gateway's unix socket, bound into the sandbox. Runs the assistant as its child.

``python -I -S bridge.py --listen 127.0.0.1:PORT --unix /path/gateway.sock -- ASSISTANT ARGV...``

Inside a new network namespace there is nothing but a loopback of its own, so the assistant's config
keeps naming ``http://127.0.0.1:PORT`` (the gateway's port on the host) and this program answers there:
each connection is joined to a new connection on the gateway's unix socket, bytes streamed both ways
as they come (an SSE reply arrives chunk by chunk), a half-close passed on as a half-close, a reset as
a reset. The gateway checks the run's token on every request as it does on TCP; the bridge looks at no
byte.

It binds before it starts the assistant (the first request never races the listener), forwards the
signals a supervisor sends (SIGTERM, SIGINT, SIGHUP, ...) to it, and exits with its status (128+N for
signal N). What the assistant leaves behind is the sandbox's to kill (the PID namespace, the cgroup).
A setup step that fails exits 125 with one line on stderr, as the check sandbox's launcher does.

Run by path with ``-I -S`` by benchtui's own interpreter inside the sandbox, where benchtui's package
may be hidden: it imports the standard library only, and nothing of benchtui.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import NoReturn

SETUP_FAILED = 125
_CHUNK = 65536
_FORWARDED = (
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGALRM,
    signal.SIGCONT,
    signal.SIGWINCH,
)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until end of stream, then half-close ``sink``; a failure on either
    side ends both directions (the other pump's recv or send fails at once)."""
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    except OSError:
        for side in (source, sink):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
        return
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _join(client: socket.socket, unix_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(unix_path)
    except OSError as exc:
        # The gateway is gone (the run is ending): the client sees a reset, as on a dead port.
        print(f"benchtui bridge: cannot reach the gateway at {unix_path}: {exc.strerror}", file=sys.stderr)
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _accept(listener: socket.socket, unix_path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            continue  # EMFILE, ECONNABORTED: the next connection may do
        threading.Thread(target=_join, args=(client, unix_path), daemon=True).start()


def _fail(message: str) -> NoReturn:
    print(f"benchtui bridge: {message}", file=sys.stderr, flush=True)
    os._exit(SETUP_FAILED)


def parse(args: list[str]) -> tuple[str, int, str, list[str]]:
    """(host, port, unix socket path, command) from the command line; ValueError when malformed."""
    if "--" not in args:
        raise ValueError("no command after --")
    cut = args.index("--")
    options, command = args[:cut], args[cut + 1 :]
    values = dict(zip(options[::2], options[1::2], strict=False))
    if len(options) % 2 or set(values) != {"--listen", "--unix"} or not command:
        raise ValueError("usage: bridge.py --listen HOST:PORT --unix PATH -- COMMAND...")
    host, _, port = values["--listen"].rpartition(":")
    return host, int(port), values["--unix"], command


def main(args: list[str]) -> None:
    try:
        host, port, unix_path, command = parse(args)
    except ValueError as exc:
        _fail(str(exc))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    threading.Thread(target=_accept, args=(listener, unix_path), daemon=True).start()

    child: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(number: int, _frame: object) -> None:
        if child:
            with contextlib.suppress(OSError):
                child[0].send_signal(number)
        else:
            pending.append(number)  # before the child exists: sent once it does

    for number in _FORWARDED:
        signal.signal(number, forward)
    try:
        # Inherits stdio and the (allowlisted) environment; Popen restores SIGPIPE and SIGXFSZ.
        child.append(subprocess.Popen(command))
    except OSError as exc:
        print(f"benchtui bridge: cannot run {command[0]}: {exc.strerror}", file=sys.stderr, flush=True)
        os._exit(127)
    for early in pending:
        with contextlib.suppress(OSError):
            child[0].send_signal(early)
    code = child[0].wait()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main(sys.argv[1:])
