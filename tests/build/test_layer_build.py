"""The layer ships byte-compiled: template.yaml builds it with layers/common/Makefile, which
installs Lambda's arm64 wheels and compiles everything with unchecked-hash .pyc.

The real build is `make build` (sam, minutes, network): not run here. These tests read the
template, dry-run the layer's Makefile (`make -n`) and run its `byte-compile` step on a tiny folder.
"""

from __future__ import annotations

import os
import py_compile
import struct
import subprocess
import sys
from pathlib import Path

from bench import coldstart
from local import template as tpl

ROOT = Path(__file__).resolve().parents[2]
LAYER_MAKEFILE = ROOT / "layers" / "common" / "Makefile"
LAYERS = {
    lid: res for lid, res in tpl.load()["Resources"].items() if res["Type"] == "AWS::Serverless::LayerVersion"
}
PYC = f"{sys.implementation.cache_tag}.pyc"
# PEP 552: the .pyc header's flags word; 0b01 = hash-based, 0b10 = check the source. Unchecked hash: 1.
UNCHECKED_HASH = 0b01


def make(*args: str) -> subprocess.CompletedProcess[str]:
    """`make -s <args>` as a top-level make (not a sub-make of `make test`, whose flags would leak in)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PY313", "PYTHON"}
    }
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def pyc_flags(pyc: Path) -> int:
    return int(struct.unpack("<I", pyc.read_bytes()[4:8])[0])


def dry_run_lines(artifacts: Path) -> list[str]:
    done = make(
        "-n",
        "-f",
        str(LAYER_MAKEFILE),
        "build-CommonLayer",
        f"ARTIFACTS_DIR={artifacts}",
        f"PYTHON={sys.executable}",
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.replace("\\\n", " ").splitlines()  # a recipe line continued with \ is one command


def index_of(lines: list[str], *needles: str) -> int:
    found = [i for i, line in enumerate(lines) if all(n in line for n in needles)]
    assert found, f"no line with {needles} in:\n" + "\n".join(lines)
    return found[0]


def test_given_template_when_read_then_every_layer_is_built_by_its_own_makefile_for_arm64():
    assert LAYERS, "template.yaml has no layer"
    for lid, layer in LAYERS.items():
        assert layer["Metadata"]["BuildMethod"] == "makefile", lid
        assert layer["Metadata"]["BuildArchitecture"] == "arm64", lid
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"], lid
        makefile = ROOT / layer["Properties"]["ContentUri"] / "Makefile"
        assert f"\nbuild-{lid}:" in makefile.read_text(), f"{makefile} has no build-{lid} target"


def test_given_layer_build_when_dry_run_then_it_installs_lambda_arm64_wheels_for_cp313(tmp_path):
    lines = dry_run_lines(tmp_path)
    pip = lines[index_of(lines, "-m pip install")]
    for flag in (
        "--platform manylinux2014_aarch64",
        "--implementation cp",
        "--python-version 3.13",
        "--only-binary=:all:",
        "--no-compile",
        f'--target "{tmp_path}/python"',
        "requirements.txt",
    ):
        assert flag in pip, flag
    assert pip.startswith(f'"{sys.executable}"'), "pip must run under PYTHON"


def test_given_layer_build_when_dry_run_then_everything_is_compiled_last_with_unchecked_hash(tmp_path):
    lines = dry_run_lines(tmp_path)
    pip = index_of(lines, "-m pip install")
    giftplans = index_of(lines, "cp -R", "giftplans", f"{tmp_path}/python/giftplans")
    stale = index_of(lines, "-name __pycache__", "rm -rf")
    compiled = index_of(lines, "-m compileall")
    assert pip < giftplans < stale < compiled
    compileall = lines[compiled]
    assert compileall.startswith(f'"{sys.executable}" -m compileall'), "bytecode must come from PYTHON (3.13)"
    for flag in ("--invalidation-mode unchecked-hash", "-f", "-j 0", f'"{tmp_path}/python"'):
        assert flag in compileall, flag


def test_given_stale_timestamp_pyc_when_byte_compile_then_unchecked_hash_pyc_replaces_it(tmp_path):
    source = tmp_path / "pkg" / "mod.py"
    source.parent.mkdir()
    source.write_text("ANSWER = 42\n")
    compiled = py_compile.compile(str(source))
    assert compiled is not None
    pyc = Path(compiled)  # pip's kind: timestamp-checked
    assert pyc.name == f"mod.{PYC}" and pyc_flags(pyc) == 0

    done = make("-f", str(LAYER_MAKEFILE), "byte-compile", f"DIR={tmp_path}", f"PYTHON={sys.executable}")

    assert done.returncode == 0, done.stderr
    assert pyc_flags(pyc) == UNCHECKED_HASH


def test_given_bench_layer_copy_when_byte_compiled_then_it_gets_the_builds_unchecked_hash_pyc(tmp_path):
    (tmp_path / "mod.py").write_text("ANSWER = 42\n")

    coldstart.byte_compile(tmp_path)

    assert pyc_flags(tmp_path / "__pycache__" / f"mod.{PYC}") == UNCHECKED_HASH


def test_given_python_that_is_not_313_when_layer_build_then_it_stops_before_installing(tmp_path):
    done = make(
        "-f",
        str(LAYER_MAKEFILE),
        "build-CommonLayer",
        f"ARTIFACTS_DIR={tmp_path}",
        f"PYTHON={tmp_path / 'no-such-python'}",
    )

    assert done.returncode != 0
    assert "is not a Python 3.13" in done.stderr
    assert not (tmp_path / "python").exists()


def test_given_no_artifacts_dir_when_layer_build_then_it_refuses():
    done = make("-f", str(LAYER_MAKEFILE), "build-CommonLayer", f"PYTHON={sys.executable}")

    assert done.returncode != 0
    assert "ARTIFACTS_DIR is not set" in done.stderr


def test_given_make_build_when_dry_run_then_sam_gets_the_found_python_313_as_python():
    done = make("-n", "build", "PY313=/opt/py/bin/python3.13")

    assert done.returncode == 0, done.stderr
    sam = next(line for line in done.stdout.splitlines() if " build --template-file" in line)
    assert 'PYTHON="/opt/py/bin/python3.13"' in sam


def test_given_layer_build_when_its_copy_steps_run_then_the_email_catalogs_ship_and_babel_is_pinned(tmp_path):
    """The mailer reads outbox/locales/*.po at run time (giftplans.outbox.language): the build's own
    copy and clean-up steps, run for real, keep them; Babel, which reads them, is a layer requirement."""
    lines = dry_run_lines(tmp_path)
    (tmp_path / "python").mkdir()
    for line in (
        lines[index_of(lines, "cp -R", "giftplans")],
        lines[index_of(lines, "-name __pycache__", "rm -rf")],
        lines[index_of(lines, "-name tests", "rm -rf")],
    ):
        subprocess.run(["bash", "-c", line], check=True, timeout=60)
    shipped = tmp_path / "python" / "giftplans" / "outbox" / "locales"
    source = ROOT / "layers" / "common" / "giftplans" / "outbox" / "locales"
    assert sorted(p.name for p in shipped.glob("*.po")) == ["de.po", "en.po"]
    for po in source.glob("*.po"):
        assert (shipped / po.name).read_bytes() == po.read_bytes()
    requirements = (ROOT / "layers" / "common" / "requirements.txt").read_text()
    assert any(line.startswith("babel==") for line in requirements.splitlines())
