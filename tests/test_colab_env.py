"""The Colab-like environment finds a Python 3.13 wherever it is installed, or says how to
get one."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import colab_env


def _fake_interpreter(path: Path, version: str) -> Path:
    """A script at ``path`` that answers the version question as Python ``version`` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    major, minor = version.split(".")[:2]
    path.write_text(f"#!/bin/sh\necho {major}.{minor}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """No Python 3.13 anywhere the finder looks, unless a test puts one there."""
    monkeypatch.delenv(colab_env.PYTHON_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv"))
    monkeypatch.setattr(colab_env, "SYSTEM_PREFIXES", (str(tmp_path / "usr"),))
    return tmp_path


def test_finds_the_newest_pyenv_python(bare):
    for version in ("3.13.0", "3.13.10", "3.13.9", "3.12.7"):
        _fake_interpreter(bare / "pyenv" / "versions" / version / "bin" /
                          f"python{version[:4]}", version)
    assert colab_env.base_python() == (bare / "pyenv/versions/3.13.10/bin/python3.13")


def test_finds_a_uv_python(bare):
    python = _fake_interpreter(bare / "uv" / "cpython-3.13.1-linux-x86_64-gnu" / "bin" /
                               "python3.13", "3.13.1")
    assert colab_env.base_python() == python


def test_finds_the_newest_uv_python(bare):
    for version in ("3.13.9", "3.13.10"):
        _fake_interpreter(bare / "uv" / f"cpython-{version}-linux-x86_64-gnu" / "bin" /
                          "python3.13", version)
    assert colab_env.base_python() == (bare / "uv/cpython-3.13.10-linux-x86_64-gnu/bin/"
                                       "python3.13")


def test_prefers_python_on_path(bare):
    on_path = _fake_interpreter(bare / "bin" / "python3.13", "3.13.2")
    _fake_interpreter(bare / "pyenv" / "versions" / "3.13.0" / "bin" / "python3.13", "3.13.0")
    assert colab_env.base_python() == on_path


def test_skips_a_python3_13_that_is_another_version(bare):
    _fake_interpreter(bare / "bin" / "python3.13", "3.11.7")  # e.g. a pyenv shim
    real = _fake_interpreter(bare / "usr" / "bin" / "python3.13", "3.13.0")
    assert colab_env.base_python() == real


def test_says_how_to_get_python_when_there_is_none(bare):
    with pytest.raises(colab_env.ColabEnvError) as error:
        colab_env.base_python()
    message = str(error.value)
    assert "pyenv install 3.13" in message and "uv python install 3.13" in message
    assert colab_env.PYTHON_VARIABLE in message


def test_the_variable_must_name_a_python_3_13(bare, monkeypatch):
    monkeypatch.setenv(colab_env.PYTHON_VARIABLE, sys.executable)
    if sys.version_info[:2] == (3, 13):
        pytest.skip("the test runs on Python 3.13 itself")
    with pytest.raises(colab_env.ColabEnvError, match="is not a working Python 3.13"):
        colab_env.base_python()
