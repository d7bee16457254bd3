"""The sandbox each graded notebook runs in: a submission's answer cells are code the instructor
runs, so they get no more than grading needs.

One sandbox per nbval run, made with bubblewrap (``bwrap``, the Debian package ``bubblewrap``),
holds pytest and the kernel it starts (they talk over TCP on 127.0.0.1, so both must share one
network namespace, and a namespace of its own gives each run its own ports):

- no network: a network namespace of its own, with only its loopback;
- the whole file system read-only; writable only its scratch folder, a size-limited tmpfs at
  ``/tmp`` (the kernel's working folder, ``$HOME`` and ``$TMPDIR`` are in it) that vanishes
  with the sandbox; ``/dev/shm`` is a small tmpfs of its own;
- invisible: the host's ``/tmp`` and ``/run`` (sockets to other services live there: a socket
  on a read-only mount can still be connected to), the grading user's home (only the Python
  installation, the import paths and Keras' data sets are bound back, read-only), the
  reference, the submissions and the ``--out`` folder (gradebook, feedback);
- its own PID namespace (``--unshare-pid``): when pytest ends, bwrap's init ends and the kernel
  kills every process left in the namespace, double-forked and ``setsid`` ones included; with
  ``--die-with-parent`` the same happens when the grader dies; ``--new-session`` keeps it from
  the grader's terminal; no capabilities (``--cap-drop ALL``: as root, CAP_SYS_ADMIN could
  remount the file system writable, CAP_SYS_PTRACE read pytest's results file descriptor);
- results come back only through a file descriptor pytest inherits (the kernel does not), and
  pytest's output through a pipe; the grader writes the gradebook itself.

Limits (:class:`Limits`). Measured on the machines this runs on (Debian 12, root, cgroups v1
mounted and writable, cgroup v2 without controllers): RLIMIT_NPROC is not enforced for root (CI
grades as root, and a user namespace maps the sandbox's root back to the real root, which the
kernel exempts), and RLIMIT_AS breaks TensorFlow (it reserves huge virtual mappings). So:

- processes: a pids cgroup (:class:`ProcessCgroup`) where the grader may make one, so that the
  kernel refuses the fork past the limit; a :class:`Watchdog` thread stops the run as soon as
  that happens. Where no cgroup can be made, the watchdog counts the tasks from ``/proc`` every
  0.1 s and kills the sandbox over the limit; that works as any user on any machine but can be
  outrun: an unbounded fork storm on a busy 2-core machine outgrew it here and ran the machine
  out of memory before a tick saw the limit;
- memory: the watchdog sums the resident memory of the sandbox's processes every 0.1 s (and,
  over the limit, their proportional memory, which counts shared pages once) and kills the
  sandbox over the limit;
- output: the scratch tmpfs has a size, files get RLIMIT_FSIZE (it holds for root), and the
  grader counts what reaches its pipe.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BWRAP = "bwrap"
# Where the scratch folder appears inside the sandbox: the kernel's /tmp, so that code that
# writes "to /tmp" writes into it.
SCRATCH = Path("/tmp")
SHM_BYTES = 64 * 2**20
MB = 2**20

INSTALL_HINT = (
    "The grader runs each submission in a sandbox made with bubblewrap (no network, nothing "
    "writable but its scratch folder, nothing that outlives it). {problem} To fix it: install "
    "the Debian package bubblewrap (`sudo apt-get install bubblewrap`); as a user other than "
    "root, the kernel must also allow unprivileged user namespaces (`sysctl "
    "kernel.unprivileged_userns_clone=1`, and on Ubuntu `sysctl "
    "kernel.apparmor_restrict_unprivileged_userns=0`). Or pass --unsafe-no-sandbox to run the "
    "submissions' code with your own rights, unsandboxed (only for code you trust).")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a sandbox on this machine."""


@dataclass(frozen=True)
class Limits:
    """What one graded run may use. Memory is resident memory summed over its processes;
    tasks are its processes and their threads (TensorFlow runs some hundred threads); output
    is what it may write, to its scratch folder and to its standard output and error each
    (what it prints into the notebook goes to nbval and counts as memory)."""
    memory_mb: int = 6144
    tasks: int = 512
    output_mb: int = 512

    def __post_init__(self):
        for name in ("memory_mb", "tasks", "output_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


# --------------------------------------------------------------------------- the bwrap command

def _existing(paths) -> list[Path]:
    seen, result = set(), []
    for path in paths:
        if not path:
            continue
        path = Path(path).absolute()
        if path.exists() and path not in seen:
            seen.add(path)
            result.append(path)
    return result


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def python_paths() -> list[Path]:
    """What the kernel's Python needs to read: its installation and its import paths (the
    grader's, which the kernel shares: nbval runs it with --nbval-current-env). Not
    ``sys.path[0]``: that is the grader's own script folder or working folder."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             Path(sys.executable).resolve().parent, *sys.path[1:],
             *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return _existing(str(Path(p).resolve()) if p else "" for p in paths)


def grader_temp_folder() -> Path:
    """The folder the grader keeps each run's own files in (``$TMPDIR``, else /tmp): the graded
    notebook, which holds the reference's outputs and hidden checks, and with several jobs
    other students' notebooks. The sandbox hides it wherever it is: inside /tmp it is gone with
    the host's /tmp; elsewhere (a cluster job's scratch) it is covered by an empty tmpfs.

    Raises SandboxUnavailable where that folder holds what the sandbox must read (Python or the
    grader), since hiding it would hide them too."""
    folder = Path(tempfile.gettempdir()).resolve()
    if _under(folder, SCRATCH):
        return folder
    needed = [path for path in python_paths() if _under(path, folder)]
    if needed:
        raise SandboxUnavailable(
            f"The temporary folder {folder} ($TMPDIR) holds {needed[0]}, which the sandbox "
            "must read, and the grader keeps each graded notebook (with the reference's "
            "hidden checks) in it, which the sandbox must hide. Point TMPDIR at a folder that "
            "holds nothing else, e.g. `export TMPDIR=$(mktemp -d /var/tmp/grading-XXXXXX)`.")
    return folder


def keras_datasets() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def bwrap_command(command: list[str], *, hidden: list[Path], limits: Limits, workdir: Path,
                  readable: list[Path] = (), folders: list[Path] = (),
                  files: dict[int, Path] | None = None) -> list[str]:
    """``command`` wrapped in bwrap, run in ``workdir``. ``hidden``: folders and files the
    sandbox must not see; ``readable``: folders it must read besides Python's (bound back if
    the grading user's home hides them); ``folders``: created in the scratch folder;
    ``files``: an open file descriptor -> the path in the scratch folder its content is copied
    to (bwrap copies it before the command starts)."""
    home = Path.home().resolve()
    hide_home = home != Path("/") and home.is_dir()
    args = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--tmpfs", "/run", "--remount-ro", "/run",
            "--size", str(limits.output_mb * MB), "--tmpfs", str(SCRATCH)]
    if hide_home:
        args += ["--tmpfs", str(home)]
    # bind back, read-only, what Python needs from the folders hidden above (never one of
    # those folders whole, say a PYTHONPATH of /tmp)
    bound_back = [path for path in _existing([*python_paths(), *readable])
                  if (hide_home and home in path.parents) or SCRATCH in path.parents]
    for path in bound_back:
        args += ["--ro-bind", str(path), str(path)]
    datasets = keras_datasets()
    if datasets.is_dir():
        # each data set on its own, so that the scratch's Keras home stays writable for others
        for folder in sorted(p for p in datasets.iterdir() if p.is_dir()):
            args += ["--ro-bind", str(folder),
                     str(SCRATCH / "home" / ".keras" / "datasets" / folder.name)]
    for path in _existing(hidden):
        if _under(path, SCRATCH) and not any(_under(path, bound) for bound in bound_back):
            continue   # the host's /tmp is not in the sandbox at all
        if path.is_dir():
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
    if hide_home:
        args += ["--remount-ro", str(home)]
    for folder in folders:
        args += ["--dir", str(folder)]
    for fd, destination in (files or {}).items():
        args += ["--file", str(fd), str(destination)]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--chdir", str(workdir), "--"]
    return args + command


_PROBE: dict = {}
_PROBE_LOCK = threading.Lock()


def check_available() -> None:
    """Raise SandboxUnavailable, with what to install, unless bwrap makes a sandbox here (the
    same kind the grader uses: tried once per process)."""
    with _PROBE_LOCK:
        if "problem" not in _PROBE:
            _PROBE["problem"] = _probe()
    if _PROBE["problem"]:
        raise SandboxUnavailable(INSTALL_HINT.format(problem=_PROBE["problem"]))
    grader_temp_folder()   # raises where the sandbox could not hide the grader's own files


def _probe() -> str:
    if shutil.which(BWRAP) is None:
        return "bubblewrap is not installed (no `bwrap` on PATH)."
    command = bwrap_command(["true"], hidden=[], limits=Limits(), workdir=SCRATCH)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not be run ({error})."
    if result.returncode != 0:
        said = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        return f"bwrap could not make a sandbox here ({said[0]})."
    return ""


# --------------------------------------------------------------------------- a hard process limit

CGROUP_ROOT = Path("/sys/fs/cgroup")


class ProcessCgroup:
    """A cgroup with the pids controller for one run, where the machine lets the grader make
    one (cgroup v1's pids hierarchy, or a cgroup v2 whose subtree already has pids): the kernel
    then refuses a fork past the limit, where polling could be outrun (see the module's
    docstring); the watchdog alone is the fallback."""

    def __init__(self, path: Path, limit: int):
        self.path = path
        (path / "pids.max").write_text(str(limit))

    @classmethod
    def create(cls, limit: int) -> "ProcessCgroup | None":
        for parent in _pids_parents():
            try:
                path = Path(tempfile.mkdtemp(prefix="resnet-grader-", dir=parent))
            except OSError:
                continue
            try:
                return cls(path, limit)
            except OSError:
                _remove(path)
        return None

    def command(self, command: list[str]) -> list[str]:
        """``command`` run by a shell that first moves itself into the cgroup, so that every
        process it starts is counted; it does not run at all if that fails."""
        return ["/bin/sh", "-ec", 'echo $$ > "$0"; exec "$@"',
                str(self.path / "cgroup.procs"), *command]

    def refused_forks(self) -> int:
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                if line.startswith("max "):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def kill(self) -> None:
        try:
            pids = (self.path / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass

    def remove(self) -> None:
        self.kill()
        _remove(self.path)


def _pids_parents() -> list[Path]:
    """Folders where this process may make a pids cgroup: its own cgroup in cgroup v1's pids
    hierarchy, or in cgroup v2 where its cgroup already hands the pids controller down."""
    parents = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return parents
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            parents.append(CGROUP_ROOT / "pids" / path.lstrip("/"))
        elif number == "0" and controllers == "":
            v2 = CGROUP_ROOT / path.lstrip("/")
            try:
                if "pids" in (v2 / "cgroup.subtree_control").read_text().split():
                    parents.append(v2)
            except OSError:
                pass
    return [p for p in parents if os.access(p, os.W_OK)]


def _remove(path: Path) -> None:
    # a cgroup is removed with rmdir once its processes have gone (they are being killed)
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


# --------------------------------------------------------------------------- limits while it runs

TICK = 0.1
PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, threads, resident bytes), from /proc/<pid>/stat."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue   # ended meanwhile
        # the name in parentheses may hold spaces; the fields after it are fixed
        fields = stat[stat.rfind(b")") + 2:].split()
        try:
            table[int(entry.name)] = (int(fields[1]), int(fields[17]), int(fields[21]) * PAGE)
        except (IndexError, ValueError):
            continue
    return table


def usage(root: int) -> tuple[int, int, list[int]]:
    """(tasks, resident bytes, pids) of ``root`` and all its descendants. In a sandbox every
    process is one: orphans are adopted by the namespace's init, bwrap's child."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            pids.append(pid)
            todo.extend(children.get(pid, ()))
    return (sum(table[p][1] for p in pids), sum(table[p][2] for p in pids), pids)


def proportional_memory(pids) -> int:
    """Bytes of memory the processes use, shared pages split among those that share them
    (PSS). Resident sizes count a page once per process that maps it: forked workers or a
    fork storm would be counted many times over. Slower to read, so only read when the
    resident sizes add up to more than the limit."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


class Watchdog(threading.Thread):
    """Watches one run (the process ``root`` and its descendants) and kills it when it goes over
    a limit; ``exceeded`` then says which: memory-limit, process-limit or output-limit. With a
    ``cgroup`` the kernel holds the process limit and the watchdog stops the run as soon as a
    fork was refused."""

    def __init__(self, root: int, limits: Limits, kill, cgroup: ProcessCgroup | None = None):
        super().__init__(daemon=True, name=f"watchdog-{root}")
        self.root, self.limits, self.kill, self.cgroup = root, limits, kill, cgroup
        self.exceeded: str | None = None
        self._done = threading.Event()

    def over(self, event: str) -> None:
        """Record that the run went over a limit (the first one counts) and kill it."""
        if self.exceeded is None:
            self.exceeded = event
        self.kill()

    def stop(self) -> None:
        self._done.set()

    def run(self) -> None:
        memory_limit = self.limits.memory_mb * MB
        while not self._done.wait(TICK):
            if self.cgroup and self.cgroup.refused_forks():
                self.over("process-limit")
                continue
            tasks, resident, pids = usage(self.root)
            if tasks > self.limits.tasks:
                self.over("process-limit")
                continue
            memory = resident if resident <= memory_limit else proportional_memory(pids)
            if memory > memory_limit:
                self.over("memory-limit")


class OutputTail(threading.Thread):
    """Reads a run's standard output and error from a pipe, keeps the last ``keep`` bytes for
    the instructor's log, and calls ``over`` once more than ``limit`` bytes came (a print loop
    at the file descriptor level would otherwise fill the grader's memory or disk)."""

    def __init__(self, stream, limit: int, over, keep: int = 4000):
        super().__init__(daemon=True, name="output-tail")
        self.stream, self.limit, self.over, self.keep = stream, limit, over, keep
        self.total = 0
        self._tail = b""

    def run(self) -> None:
        while True:
            chunk = self.stream.read1(1 << 16)
            if not chunk:
                return
            self.total += len(chunk)
            self._tail = (self._tail + chunk)[-self.keep:]
            if self.total > self.limit:
                self.over("output-limit")
                self.limit = float("inf")   # say it once; go on draining until the pipe closes

    @property
    def text(self) -> str:
        return self._tail.decode("utf-8", errors="replace")


def kill_tree(root: int) -> None:
    """SIGKILL ``root`` and its descendants. For a sandbox, killing bwrap's child (the PID
    namespace's init) is enough: the kernel then kills everything in the namespace."""
    _, _, pids = usage(root)
    for pid in pids or [root]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
