"""The ``unshare`` sandbox in one step: one small program that makes the namespaces, builds the
filesystem view, sets the limits, drops root and runs the check behind an init, all by itself.

It used to take a chain of 28 programs per check (``unshare``, a setup shell, ``mount`` ×12,
``mkdir`` ×8, ``setpriv``, ``prlimit``, a Python init): 72–77 ms against 1.8 ms for the bare command.
Now benchtui's own interpreter runs :data:`_LAUNCHER` (``-I -S``: no site, no user paths) and makes
the same system calls those programs made (``unshare(2)``, ``mount(2)``, ``setrlimit(2)``,
``prctl(2)``, ``capset(2)``, ``setresuid(2)``, through ``ctypes`` where Python 3.11 has no binding).
The interpreter is always there, and it starts before anything is hidden.

What it does, in order (the same view and limits bwrap's mode gives, docs/SANDBOX.md):

1. joins the run's ``pids`` cgroup when there is one (before any fork, so every process is counted);
2. ``unshare``: new mount, PID, network, IPC and UTS namespaces, and a user namespace mapping the
   caller to root when benchtui is not root; mounts made private (nothing leaks to the host);
3. forks: the parent stays outside, forwards signals to the child and exits with its status; the
   child is PID 1 of the new PID namespace (and dies if the parent does: ``PR_SET_PDEATHSIG``);
4. PID 1 mounts a fresh ``/proc``, brings loopback up, sets the hostname, hides ``/tmp``, ``/run``,
   ``/home``... behind empty tmpfs, binds the workspace and the check's HOME/TMPDIR back (writable)
   and the interpreter's folders (read-only), each from a descriptor opened before the hiding;
5. PID 1 forks the check (so the check is never PID 1: the kernel spares PID 1 every signal it has no
   handler for, and orphans are handed to it), which sets its rlimits, drops root for the per-run
   uid (bounding set, groups, gid, uid, inheritable capabilities, then ``no_new_privs``), restores
   SIGPIPE/SIGXFSZ and execs the command; PID 1 forwards signals to it, reaps every orphan and exits
   with the check's status (128+N for signal N), which tears the namespaces down.

Two more settings, which checks (``check.run_check``) and assistants (engine/assistants/confine.py)
both get: ``rohost`` makes the whole host view read-only first (``mount_setattr(2)``, recursive;
Linux 5.12 or later, which ``detect`` probes), binds every writable path back writable, wherever it
lies, and covers ``/proc/sys``, ``/proc/sysrq-trigger``, ``/proc/irq`` and ``/proc/bus`` read-only as
bwrap does; ``nocaps`` empties the bounding set and every capability set and sets ``no_new_privs``
while keeping the uid. Without them a non-root benchtui's check, root of its user namespace with every
capability there, could write whatever benchtui's uid may write outside the hidden folders and unmount
the tmpfs that hides them; an assistant, never handed to a throw-away uid, the same as root.

A setup step that fails exits 125 with one line on stderr naming the step; the check then fails with
that line as its output, never silently without isolation.

The spec travels as ``key=value`` arguments before ``--`` (one per bind, hidden folder or limit), so
the launcher parses nothing but strings and imports builtin and small extension modules only.
"""

from __future__ import annotations

import os
import sys

from benchtui.engine.sandbox.argv import Layout, is_under, tmpfs_mode
from benchtui.engine.sandbox.host import is_root

SETUP_FAILED = 125
# The step ``rohost`` fails at where the kernel has no mount_setattr(2) (before Linux 5.12): detect reads it.
ROHOST_STEP = "making the host read-only"

_LAUNCHER = r"""
import posix, sys, _signal as S
import ctypes, resource

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

def fail(step, errno=None):
    e = ctypes.get_errno() if errno is None else errno
    posix.write(2, f"benchtui sandbox: {step}: {posix.strerror(e)}\n".encode())
    posix._exit(125)

def call(result, step):
    if result != 0:
        fail(step)

def write(path, text, step):
    try:
        fd = posix.open(path, posix.O_WRONLY)
        posix.write(fd, text.encode())
        posix.close(fd)
    except OSError as e:
        fail(step, e.errno)

args = sys.argv[1:]
cut = args.index("--")
spec, command = args[:cut], args[cut + 1:]
opt, many = {}, {"hide": [], "dir": [], "ro": [], "rw": []}
for token in spec:
    key, _, value = token.partition("=")
    if key in many:
        many[key].append(value)
    else:
        opt[key] = value

if "cgroup" in opt:
    write(opt["cgroup"], str(posix.getpid()), "joining the pids cgroup")
flags = 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000  # NEWNS, NEWPID, NEWNET, NEWIPC, NEWUTS
if "map" in opt:
    flags |= 0x10000000  # CLONE_NEWUSER
call(libc.unshare(flags), "unshare")
if "map" in opt:
    uid, gid = opt["map"].split(":")
    write("/proc/self/setgroups", "deny", "setgroups deny")
    write("/proc/self/uid_map", f"0 {uid} 1", "uid_map")
    write("/proc/self/gid_map", f"0 {gid} 1", "gid_map")
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
call(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
if "rohost" in opt:  # mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY})
    attr = (ctypes.c_uint64 * 4)(1, 0, 0, 0)
    c = ctypes
    done = libc.syscall(c.c_long(442), c.c_int(-100), b"/", c.c_uint(0x8000), attr, c.c_size_t(32))
    call(done, "making the host read-only")  # ROHOST_STEP

FWD = [S.SIGHUP, S.SIGINT, S.SIGQUIT, S.SIGTERM, S.SIGUSR1, S.SIGUSR2, S.SIGALRM, S.SIGCONT, S.SIGWINCH]
mask = S.pthread_sigmask(S.SIG_BLOCK, FWD)  # nothing is lost between a fork and the handlers

def serve(child):
    # Forward signals to ``child``, reap whatever ends, exit with the child's status.
    def forward(n, _frame):
        try:
            posix.kill(child, n)
        except OSError:
            pass
    for n in FWD:
        S.signal(n, forward)
    S.pthread_sigmask(S.SIG_SETMASK, mask)
    while True:
        try:
            pid, status = posix.waitpid(-1, 0)
        except ChildProcessError:
            posix._exit(125)
        if pid == child:
            code = posix.waitstatus_to_exitcode(status)
            posix._exit(128 - code if code < 0 else code)

init = posix.fork()
if init:
    serve(init)  # outside the namespaces: benchtui's child, the session leader it kills

# PID 1 of the new PID namespace.
call(libc.prctl(1, S.SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG")  # the parent is SIGKILLed: so are we
call(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mounting /proc")
try:  # bwrap brings loopback up in its network namespace; so does this (checks may serve on 127.0.0.1)
    import _socket, _struct, fcntl
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    ifr = fcntl.ioctl(s.fileno(), 0x8913, _struct.pack("16sH14s", b"lo", 0, b""))  # SIOCGIFFLAGS
    lo_flags = _struct.unpack("16sH14s", ifr)[1] | 1  # IFF_UP
    fcntl.ioctl(s.fileno(), 0x8914, _struct.pack("16sH14s", b"lo", lo_flags, b""))  # SIOCSIFFLAGS
    s.close()
except OSError:
    pass
if "rohost" in opt:  # as bwrap does: the kernel's knobs stay out of reach of a uid 0 without capabilities
    for name in ("sys", "sysrq-trigger", "irq", "bus"):
        path = b"/proc/" + name.encode()
        try:
            posix.stat(path)
        except OSError:
            continue
        call(libc.mount(path, path, None, MS_BIND | MS_REC, None), f"covering /proc/{name}")
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        call(libc.mount(None, path, None, flags, None), f"read-only /proc/{name}")
libc.sethostname(b"sandbox", 7)
posix.umask(0o022)
binds = [(p, True) for p in many["ro"]] + [(p, False) for p in many["rw"]]
try:  # opened before the tmpfs mounts hide them, bound from /proc/self/fd/N afterwards
    fds = [posix.open(p, posix.O_RDONLY | posix.O_CLOEXEC) for p, _ in binds]
except OSError as e:
    fail(f"opening {e.filename}", e.errno)
for entry in many["hide"]:
    path, _, mode = entry.rpartition(":")
    options = f"mode={mode}".encode()
    call(libc.mount(b"benchtui", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"hiding {path}")

def mkdirs(path):
    parts, cur = path.strip("/").split("/"), ""
    for part in parts:
        cur += "/" + part
        try:
            posix.mkdir(cur, 0o755)
        except FileExistsError:
            pass
        except OSError as e:
            fail(f"mkdir {cur}", e.errno)

for path in many["dir"]:
    mkdirs(path)
# statvfs flag -> mount flag: a remount in a user namespace must keep the flags it cannot clear.
KEEP = [(2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, 1024), (2048, 2048), (4096, 1 << 21)]
for fd, (path, read_only) in zip(fds, binds):
    mkdirs(path)
    call(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND, None), f"binding {path}")
    if read_only or "rohost" in opt:  # a bind of a read-only host path is read-only: rohost's rw ones are made writable
        kept = posix.statvfs(path).f_flag
        extra = sum(m for st, m in KEEP if kept & st) | (MS_RDONLY if read_only else 0)
        step = f"{'read-only' if read_only else 'writable'} {path}"
        call(libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND | extra, None), step)
    posix.close(fd)
try:
    posix.chdir(opt["cwd"])
except OSError as e:
    fail(f"cd {opt['cwd']}", e.errno)

check = posix.fork()
if check:
    serve(check)

# The check (PID 2): limits, then no root, then the command.
for name, key in (("RLIMIT_AS", "as"), ("RLIMIT_NPROC", "nproc"), ("RLIMIT_FSIZE", "fsize"), ("RLIMIT_CORE", "core")):
    if key in opt:
        n = int(opt[key])
        try:
            resource.setrlimit(getattr(resource, name), (n, n))
        except (OSError, ValueError) as e:
            fail(f"setrlimit {name}", getattr(e, "errno", None) or 22)
if "drop" in opt or "nocaps" in opt:
    with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
        last = int(f.read())
    for cap in range(last + 1):
        call(libc.prctl(24, cap, 0, 0, 0), "dropping the bounding set")  # PR_CAPBSET_DROP
    if "drop" in opt:
        uid = int(opt["drop"])
        try:
            posix.setgroups([])
            posix.setresgid(uid, uid, uid)
            posix.setresuid(uid, uid, uid)  # clears the permitted and effective capabilities
        except OSError as e:
            fail("dropping root", e.errno)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x2: all empty
    call(libc.capset(header, data), "clearing the inheritable capabilities")
    call(libc.prctl(38, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
# Python ignores SIGPIPE and SIGXFSZ; an ignored signal survives exec, so give the check defaults.
for n in FWD + [S.SIGPIPE, S.SIGXFSZ]:
    S.signal(n, S.SIG_DFL)
S.pthread_sigmask(S.SIG_SETMASK, mask)
try:
    posix.execv(command[0], command)
except OSError as e:
    posix.write(2, f"benchtui sandbox: cannot run {command[0]}: {e.strerror}\n".encode())
posix._exit(127)
"""


def launcher_argv(
    lay: Layout,
    cwd: str,
    *,
    memory_bytes: int | None = None,
    max_processes: int | None = None,
    max_file_bytes: int | None = None,
    drop_to_uid: int | None = None,
    cgroup_procs: str | None = None,
    read_only_host: bool = False,
    drop_capabilities: bool = False,
) -> list[str]:
    """The launcher's command line for ``lay``; the check's own argv goes after it.

    ``drop_to_uid``: the per-run uid a root harness hands the check to (None: benchtui is not root, and
    the check is root only inside its own user namespace). ``cgroup_procs``: the run's pids cgroup.
    ``read_only_host`` and ``drop_capabilities``: the ``rohost`` and ``nocaps`` settings (module doc).
    """
    spec = [f"cwd={cwd}"]
    if not is_root():
        spec.append(f"map={os.getuid()}:{os.getgid()}")

    # Outside the hidden folders the host view is used as is (read-only for an unprivileged uid).
    def under_hidden(p: str) -> bool:
        return any(is_under(p, h) for h in lay.hidden)

    spec += [f"hide={h}:{tmpfs_mode(h)}" for h in _hidden_with_shm(lay.hidden)]
    spec += [f"dir={d}" for d in lay.dirs]
    spec += [f"ro={p}" for p in lay.ro_binds if under_hidden(p)]
    spec += [f"rw={p}" for p in lay.rw_binds if read_only_host or under_hidden(p)]
    for key, value in (("as", memory_bytes), ("nproc", max_processes), ("fsize", max_file_bytes)):
        if value is not None:
            spec.append(f"{key}={value}")
    spec.append("core=0")
    if drop_to_uid is not None:
        spec.append(f"drop={drop_to_uid}")
    if cgroup_procs is not None:
        spec.append(f"cgroup={cgroup_procs}")
    if read_only_host:
        spec.append("rohost=1")
    if drop_capabilities:
        spec.append("nocaps=1")
    if any("\0" in part for part in spec):
        raise ValueError("a sandbox path contains a NUL byte")
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, *spec, "--"]


def _hidden_with_shm(hidden: list[str]) -> list[str]:
    return [*hidden, "/dev/shm"] if os.path.isdir("/dev/shm") else list(hidden)
