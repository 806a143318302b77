"""Deployment artefact sizes, built the way `sam build` builds them.

With `.tools/sam/bin/sam` (`make tools`), `sam build` runs into a temporary build dir
(the template's own arm64 / python3.13 settings) and each `.aws-sam/build/<LogicalId>`
is measured unpacked and zipped. Without it, the same is approximated: the layer is built
by its own Makefile (`layers/common/Makefile`, which sam runs too: arm64 wheels, byte-compiled),
and each function is its folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from local import template

ROOT = Path(__file__).resolve().parents[1]
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"
MB = 1024 * 1024
LAYER = "CommonLayer"


def _sizes(folder: Path, work: Path) -> dict[str, float]:
    unpacked = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    archive = work / f"{folder.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder))
    zipped = archive.stat().st_size
    archive.unlink()
    return {"unzipped_mb": round(unpacked / MB, 2), "zipped_mb": round(zipped / MB, 2)}


def _python313() -> str | None:
    """The real interpreter (the Makefile's search: a pyenv shim on PATH may not answer)."""
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "print-python"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def _sam_build(work: Path) -> Path:
    build = work / "build"
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    py = _python313()
    if py:
        env["PATH"] = f"{Path(py).parent}:{env.get('PATH', '')}"
        env["PYTHON"] = py  # layers/common/Makefile byte-compiles the layer with it
    command = [
        str(SAM),
        "build",
        "--template-file",
        str(ROOT / "template.yaml"),
        "--build-dir",
        str(build),
        "--cache-dir",
        str(ROOT / ".bench" / "sam-cache"),
        "--cached",
    ]
    for _attempt in (1, 2):  # pip downloads through the network: one retry
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return build
        shutil.rmtree(build, ignore_errors=True)
    raise RuntimeError(f"sam build failed twice:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _approximate(work: Path) -> Path:
    build = work / "build"
    # The layer's own build (what sam runs for it): arm64 wheels, byte-compiled.
    makefile = ROOT / "layers" / "common" / "Makefile"
    subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-f",
            str(makefile),
            f"build-{LAYER}",
            f"ARTIFACTS_DIR={build / LAYER}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
    )
    for fn in template.functions():
        shutil.copytree(
            ROOT / "functions" / fn.job,
            build / fn.function,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return build


def package_mb() -> tuple[dict[str, dict[str, float]], str]:
    """{job or "layer": {"unzipped_mb", "zipped_mb"}}, and how it was built."""
    with tempfile.TemporaryDirectory(prefix="giftplans-bench-") as tmp:
        work = Path(tmp)
        build = None
        if SAM.exists():
            try:
                build, how = _sam_build(work), "sam build"
            except RuntimeError as failure:
                print(f"bench: {failure}\nbench: measuring the pip approximation instead", file=sys.stderr)
        if build is not None:
            how += f" ({sum(1 for _ in (build / LAYER).rglob('*.pyc'))} .pyc files in the layer)"
        else:
            build = _approximate(work)
            how = "layers/common/Makefile, functions copied (no sam: `make tools`)"
        out = {"layer": _sizes(build / LAYER, work)}
        for fn in template.functions():
            out[fn.job] = _sizes(build / fn.function, work)
        return out, how
