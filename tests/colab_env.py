"""A Colab-like virtual environment for the tests, built once and cached.

Google Colab's default runtime (its published package lists) has Python 3.13,
TensorFlow 2.20.0, Keras 3.13.2, NumPy 2.1.3 and Matplotlib 3.10.0, and not the book's helper
package. This module builds a virtual environment with those versions (plus what the test
harness needs to run a notebook: nbval, ipykernel, pytest) under ``<repo>/.cache/colab-venv``,
and reuses it while the stamp file there holds the same requirement list and base Python.

    python -m tests.colab_env            # build it (or reuse it) and say how long it took
    python -m tests.colab_env --rebuild  # throw it away and build it again

Every problem is raised as :class:`ColabEnvError` with a message that says what to do; the tests
turn it into a failure, never a skip.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from book_tools.repository import CACHE

# Colab's versions; HARNESS below is what the tests need to run a notebook, not Colab.
COLAB_PINS = {
    "tensorflow-cpu": "2.20.0",
    "keras": "3.13.2",
    "numpy": "2.1.3",
    "matplotlib": "3.10.0",
}
HARNESS = ["nbval", "nbclient", "ipykernel", "pytest"]
REQUIREMENTS = [f"{name}=={version}" for name, version in COLAB_PINS.items()] + HARNESS

PYTHON_VERSION = "3.13"
PYTHON_VARIABLE = "RESNET_BOOK_COLAB_PYTHON"  # overrides the base interpreter

VENV_DIR = CACHE / "colab-venv"
STAMP_NAME = "colab-env.stamp"
LOCK_PATH = CACHE / "colab-venv.lock"
BUILD_TIMEOUT = 1800  # seconds for `pip install` (TensorFlow is a ~250 MB wheel)

HELPER_DISTRIBUTION = "resnet-book"


class ColabEnvError(RuntimeError):
    """The Colab-like environment could not be built or used."""


@dataclasses.dataclass(frozen=True)
class ColabEnv:
    root: Path
    python: Path
    created: bool  # False: reused from the cache
    seconds: float  # how long ensure_colab_env took (building, or checking the cache)

    def pip(self, *args: str, check: bool = False, timeout: float = 600,
            **kwargs) -> subprocess.CompletedProcess:
        """Run ``pip`` of this environment."""
        return _run([str(self.python), "-m", "pip", *args], check=check, timeout=timeout,
                    **kwargs)

    def versions(self, names=tuple(COLAB_PINS) + (HELPER_DISTRIBUTION,)) -> dict[str, str | None]:
        """Installed versions of ``names`` (None where not installed), read without imports."""
        return installed_versions(self.python, names)


SYSTEM_PREFIXES = ("/usr/local", "/usr")


def _candidates() -> list[Path]:
    """Where a Python 3.13 may be, most specific first: on PATH, under pyenv's root, uv's
    managed interpreters, and the usual install prefixes."""
    found = [shutil.which(name) for name in (f"python{PYTHON_VERSION}",)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    uv_root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR",
                                  Path.home() / ".local" / "share" / "uv" / "python"))
    patterns = [(pyenv_root / "versions", f"{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"),
                (uv_root, f"cpython-{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}")]
    for folder, pattern in patterns:
        # the newest patch release first (3.13.10 after 3.13.9, so compare as numbers)
        found += sorted(folder.glob(pattern), key=_patch_level, reverse=True)
    found += [Path(prefix) / "bin" / f"python{PYTHON_VERSION}" for prefix in SYSTEM_PREFIXES]
    unique = []
    for path in found:
        if path and Path(path).is_file() and Path(path) not in unique:
            unique.append(Path(path))
    return unique


def _patch_level(path: Path) -> tuple:
    """(3, 13, 10) for .../3.13.10/bin/python3.13 (pyenv) or
    .../cpython-3.13.10-linux-x86_64-gnu/bin/python3.13 (uv); () where the folder names none."""
    version = re.search(r"(\d+)\.(\d+)\.(\d+)", path.parent.parent.name)
    return tuple(int(part) for part in version.groups()) if version else ()


def _version_of(python: Path) -> str:
    found = _run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    return found.stdout.strip() if found.returncode == 0 else ""


HOW_TO_GET_IT = (
    f"Install Python {PYTHON_VERSION} with pyenv (`pyenv install {PYTHON_VERSION}`) or uv "
    f"(`uv python install {PYTHON_VERSION}`), or point {PYTHON_VARIABLE} at a Python "
    f"{PYTHON_VERSION} interpreter.")


def base_python() -> Path:
    """The Python 3.13 interpreter the venv is made from: ``$RESNET_BOOK_COLAB_PYTHON``, else the
    first working one found on PATH, under pyenv or uv, or in /usr/local and /usr; a clear
    error that says how to get one when there is none."""
    configured = os.environ.get(PYTHON_VARIABLE, "").strip()
    if configured:
        python = Path(configured)
        if not python.is_file() or _version_of(python) != PYTHON_VERSION:
            raise ColabEnvError(
                f"{PYTHON_VARIABLE}={configured} is not a working Python {PYTHON_VERSION}. "
                + HOW_TO_GET_IT)
        return python
    candidates = _candidates()
    for python in candidates:
        if _version_of(python) == PYTHON_VERSION:
            return python
    looked = ", ".join(map(str, candidates)) or "none on PATH, under pyenv or uv"
    raise ColabEnvError(
        f"Python {PYTHON_VERSION} for the Colab-like environment was not found (candidates "
        f"tried: {looked}). " + HOW_TO_GET_IT)


def stamp_text(python: Path) -> str:
    """What the stamp file holds: the base interpreter and the requirement list."""
    return json.dumps({"python": str(python), "requirements": REQUIREMENTS}, indent=1) + "\n"


def venv_python(root: Path = VENV_DIR) -> Path:
    return root / "bin" / "python"


def installed_versions(python: Path, names) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    result = _run([str(python), "-c", code, *names])
    if result.returncode != 0:
        raise ColabEnvError(f"Could not read package versions with {python}:\n{result.stderr}")
    return json.loads(result.stdout)


def ensure_colab_env(root: Path = VENV_DIR, *, rebuild: bool = False,
                     log=None) -> ColabEnv:
    """The Colab-like venv at ``root``: reused when its stamp matches, else (re)built."""
    log = log or (lambda message: None)
    start = time.perf_counter()
    python = base_python()
    stamp = root / STAMP_NAME
    wanted = stamp_text(python)
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(LOCK_PATH if root == VENV_DIR else root.parent / f"{root.name}.lock"):
        if not rebuild and _reusable(root, stamp, wanted):
            return ColabEnv(root, venv_python(root), False, time.perf_counter() - start)
        log(f"building the Colab-like environment in {root} (Python {python}) ...")
        _build(root, python)
        stamp.write_text(wanted)  # last: a half-built venv has no stamp and is rebuilt
    seconds = time.perf_counter() - start
    log(f"built the Colab-like environment in {seconds:.0f} s")
    return ColabEnv(root, venv_python(root), True, seconds)


def invalidate(root: Path = VENV_DIR) -> None:
    """Make the next ensure_colab_env rebuild (e.g. after a test changed its packages)."""
    (root / STAMP_NAME).unlink(missing_ok=True)


def _reusable(root: Path, stamp: Path, wanted: str) -> bool:
    if not stamp.exists() or stamp.read_text() != wanted or not venv_python(root).exists():
        return False
    try:  # cheap health check: the pinned versions are still the ones installed
        found = installed_versions(venv_python(root), COLAB_PINS)
    except (ColabEnvError, OSError, ValueError):
        return False
    return found == COLAB_PINS


def _build(root: Path, python: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    made = _run([str(python), "-m", "venv", str(root)], timeout=300)
    if made.returncode != 0:
        raise ColabEnvError(f"`{python} -m venv {root}` failed:\n{made.stdout}{made.stderr}")
    pip = _run([str(venv_python(root)), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
               timeout=BUILD_TIMEOUT)
    if pip.returncode != 0:
        raise ColabEnvError(
            "Could not install the Colab-like requirements "
            f"({' '.join(REQUIREMENTS)}) into {root}; pip said:\n{_tail(pip.stdout + pip.stderr)}"
        )
    found = installed_versions(venv_python(root), COLAB_PINS)
    if found != COLAB_PINS:
        raise ColabEnvError(f"pip installed {found} into {root}, not Colab's {COLAB_PINS}.")
    probe = _run([str(venv_python(root)), "-c",
                  "import tensorflow as tf, keras, numpy\n"
                  "print(tf.__version__, keras.__version__, numpy.__version__)"],
                 timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    expected = " ".join(COLAB_PINS[n] for n in ("tensorflow-cpu", "keras", "numpy"))
    if probe.returncode != 0 or probe.stdout.strip() != expected:
        raise ColabEnvError(
            f"TensorFlow does not import in the Colab-like environment {root} "
            f"(expected versions {expected!r}):\n{_tail(probe.stdout + probe.stderr)}"
        )


def _run(command, *, check: bool = False, timeout: float = 600,
         **kwargs) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(command, text=True, capture_output=True, timeout=timeout,
                                **kwargs)
    except subprocess.TimeoutExpired as error:
        raise ColabEnvError(f"`{' '.join(map(str, command))}` took over {timeout} s") from error
    except OSError as error:
        raise ColabEnvError(f"Could not run `{' '.join(map(str, command))}`: {error}") from error
    if check and result.returncode != 0:
        raise ColabEnvError(f"`{' '.join(map(str, command))}` failed "
                            f"(exit {result.returncode}):\n{_tail(result.stdout + result.stderr)}")
    return result


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock, so parallel test workers build the venv once."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build it again from scratch")
    args = parser.parse_args(argv)
    try:
        env = ensure_colab_env(rebuild=args.rebuild, log=print)
    except ColabEnvError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{'built' if env.created else 'reused'} {env.root} in {env.seconds:.1f} s; "
          f"python: {env.python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
