"""The Makefile's own promises: it finds Python 3.13, and the layer's requirements match uv.lock."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`make -s <args>` in the repo, as a top-level make (not a sub-make of `make test`)."""
    dropped = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PY313"}
    base = {k: v for k, v in (env or os.environ).items() if k not in dropped}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(ROOT), *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def python_version(executable: str) -> str:
    out = subprocess.run([executable, "-V"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def pinned(requirements: str) -> dict[str, str]:
    """name -> version for each `name==version` line."""
    pins: dict[str, str] = {}
    for line in requirements.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_given_this_machine_when_print_python_then_it_names_a_python_3_13() -> None:
    result = make("print-python")

    assert result.returncode == 0, result.stderr
    executable = result.stdout.strip()
    assert Path(executable).is_absolute()
    assert python_version(executable).startswith("Python 3.13")


def test_given_python3_13_plainly_on_path_when_print_python_then_it_is_used(tmp_path: Path) -> None:
    found = make("print-python")
    assert found.returncode == 0, found.stderr
    real = found.stdout.strip()
    (tmp_path / "python3.13").symlink_to(real)
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/local/bin:/usr/bin:/bin"}

    result = make("print-python", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "python3.13")


@pytest.mark.skipif(shutil.which("pyenv") is None, reason="pyenv is not on this machine")
def test_given_pyenv_whose_default_is_not_3_13_when_print_python_then_pyenv_3_13_is_found() -> None:
    pyenv = shutil.which("pyenv")
    assert pyenv is not None
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=True).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k != "PYENV_VERSION"}
    env["PATH"] = f"{root}/shims:{Path(pyenv).parent}:/usr/local/bin:/usr/bin:/bin"

    result = make("print-python", env=env)

    assert result.returncode == 0, result.stderr
    executable = result.stdout.strip()
    assert executable.startswith(f"{root}/versions/3.13")
    assert python_version(executable).startswith("Python 3.13")


def test_given_uv_lock_when_exporting_runtime_deps_then_committed_requirements_match() -> None:
    result = make("print-requirements")

    assert result.returncode == 0, result.stderr
    assert REQUIREMENTS.read_text() == result.stdout, (
        "layers/common/requirements.txt is stale: run `make requirements` and commit it"
    )


# Test and lint tools: none of them belongs in the Lambda layer.
NEVER_SHIPPED = {
    "pytest",
    "hypothesis",
    "moto",
    "ruff",
    "mypy",
    "bandit",
    "cfn-lint",
    "schemathesis",
    "playwright",
}


def test_given_layer_requirements_then_runtime_deps_are_pinned_as_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = pinned("\n".join(project["project"]["dependencies"]))

    shipped = pinned(REQUIREMENTS.read_text())

    assert runtime, "pyproject.toml pins no runtime dependency"
    assert {name: shipped.get(name) for name in runtime} == runtime


def test_given_layer_requirements_then_no_test_or_lint_tool_ships() -> None:
    shipped = pinned(REQUIREMENTS.read_text())

    assert not NEVER_SHIPPED & set(shipped)
