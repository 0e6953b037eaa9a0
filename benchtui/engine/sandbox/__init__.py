"""Sandboxed execution of a task's hidden check command.

This package owns one job: running the check command (for example
``python -m pytest -q``) in a model-edited workspace and reporting how it
ended, as a :class:`CheckOutcome`.  The check executes code that a model
wrote, so it is treated as hostile:

* **Environment**: built from an allowlist only (PATH, a fresh HOME and
  TMPDIR, locale, a few Python/terminal switches).  Nothing else is taken
  from ``os.environ``, so API keys and tokens never reach the check.
* **Isolation** (see :func:`detect_sandbox`): ``bwrap`` when it works here
  (new network, PID, IPC and UTS namespaces, read-only view of the host
  filesystem with ``/tmp``, ``/var/tmp``, ``/run``, ``/root``, ``/home``
  hidden, only the workspace and the per-run HOME/TMPDIR writable), else
  ``unshare`` (same namespaces, the same read-only host view and hidden
  directories, set up in one step by ``launcher``, a small program that
  makes the system calls itself and stays PID 1 in front of the check;
  Linux 5.12 or later, for ``mount_setattr(2)``), else ``none`` (only limits and process-group cleanup; a warning
  is logged once).  ``BENCHTUI_SANDBOX`` forces a mode.
* **Never PID 1**: the check never is its PID namespace's init, which the
  kernel spares every signal it has no handler for (``kill -9 $$`` would do
  nothing) and which must reap orphans: bwrap keeps its own init there,
  the ``unshare`` launcher stays PID 1 (forwards signals, reaps, passes the exit on).
* **Privileges**: when the harness runs as root the check runs as a
  throw-away unprivileged uid (``setpriv``; the launcher drops root itself), with all capabilities and the
  bounding set dropped and ``no_new_privs`` set (bwrap/unshare modes; in
  ``none`` mode it keeps the harness uid).  When not root, the unshare
  mode's check is root of its user namespace without a single capability.  The workspace is chowned to that
  uid for the run and its entries handed back to their owners afterwards.
* **Limits**: ``prlimit`` sets RLIMIT_AS (memory), RLIMIT_FSIZE (file size),
  RLIMIT_NPROC and RLIMIT_CORE=0 around ``/bin/sh -c``.  RLIMIT_NPROC is not
  enforced for root (kuid 0), so when root the process limit comes from a
  ``pids`` cgroup made per run (cgroup v1 or v2) and from the unprivileged
  per-run uid.
* **Termination**: the check gets its own session/process group; on exit,
  timeout or cancel the whole tree is SIGKILLed (process group, PID
  namespace, which the kernel kills whole with its init, and cgroup).  Output
  is read with ``poll`` in the calling thread and stored only up to the cap,
  so a check printing gigabytes keeps the harness memory flat, and a
  grandchild holding stdout open cannot block the call.

Nothing here uses ``preexec_fn``: every setting is applied by wrapper
programs (bwrap, setpriv, prlimit, the launcher), which is safe in a threaded
harness.

Modules, each one mechanism (lower ones never import higher ones):

* ``host``: the wrapper programs found, root or not, the system PATH, the logger and warn-once.
* ``identity``: the per-run uid of a root harness (no /proc scan), ``setpriv``, lending the workspace.
* ``limits``: ``prlimit``, the per-run ``pids`` cgroup, which limit a check ran into.
* ``argv``: the bwrap command line and the filesystem view both namespace modes build.
* ``launcher``: the unshare mode in one program: namespaces, view, limits, uid drop, init as PID 1.
* ``detect``: which mode works here and which one the next check runs in (``BENCHTUI_SANDBOX``).
* ``process``: the allowlisted environment, running with capped output, the tree kill.
* ``check``: :func:`run_check`, which puts them together, and its :class:`CheckOutcome`.

Test hooks live on the module that reads them: ``detect._FORCE_MODE``, ``limits._DISABLE_CGROUP``,
``host._tools_cache`` and ``host._warned`` (set them there; this package re-exports only the public API).
"""

from __future__ import annotations

from benchtui.engine.sandbox.check import CheckOutcome, run_check
from benchtui.engine.sandbox.detect import (
    MODES,
    SANDBOX_ENV,
    SandboxUnavailable,
    detect_sandbox,
    sandbox_mode,
    unavailable_reason,
)

__all__ = [
    "MODES",
    "SANDBOX_ENV",
    "CheckOutcome",
    "SandboxUnavailable",
    "detect_sandbox",
    "run_check",
    "sandbox_mode",
    "unavailable_reason",
]
