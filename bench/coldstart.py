"""Cold starts: what Lambda's INIT phase costs each function, against `boto3.client("dynamodb")` alone.

Each measurement is a fresh interpreter (`python -I -S`: no site-packages, no user
paths) whose `sys.path` is what Lambda gives a function: its own folder (`/var/task`),
the layer's code (`layers/common`, `/opt/python`), the layer's dependencies installed
from `layers/common/requirements.txt` (not the dev venv, which has packages such as
the X-Ray SDK that the layer does not ship), then the standard library. The
environment is the function's deployed environment from template.yaml (Globals and its
own variables, the `*_PARAM` names included), fake credentials and Lambda's own
variables. The clock starts after the interpreter is up, as INIT's does; it stops
after `import app` (all module-level setup: resolvers, models, clients made at import).
It is the process's CPU time, not wall time: INIT is CPU-bound, and CPU time does not
swing with whatever else the machine runs (wall time here was +-40% under load).

The figure is the median of `runs` processes; `baseline` is measured the same way.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from local import template

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
# The layer's build; its `byte-compile` target is the one `sam build` runs on the shipped layer.
LAYER_MAKEFILE = ROOT / "layers" / "common" / "Makefile"
BASELINE = "baseline"

# The body a fresh interpreter runs: time `what`, print the milliseconds.
_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.process_time()
{what}
print((time.process_time() - started) * 1000)
"""
IMPORT_APP = "import app"
BOTO3_DYNAMODB = "import boto3\nboto3.client('dynamodb')"


def install_layer_dependencies(target: Path) -> Path:
    """The layer's pinned dependencies for this machine's Python, into `target` (quick from uv's cache)."""
    marker = target / ".installed"
    installed = REQUIREMENTS.read_text() + LAYER_MAKEFILE.read_text()  # a new compile step reinstalls
    if marker.exists() and marker.read_text() == installed:
        return target
    uv = Path(sys.executable).with_name("uv")
    command = (
        [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--python",
            sys.executable,
            "--target",
            str(target),
            "--no-deps",
            "-r",
            str(REQUIREMENTS),
        ]
        if uv.exists()
        else [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--target",
            str(target),
            "--no-deps",
            "-r",
            str(REQUIREMENTS),
        ]
    )
    subprocess.run(command, check=True)
    byte_compile(target)
    marker.write_text(installed)
    return target


def byte_compile(target: Path) -> None:
    """Byte-compile `target` as the layer's build does (`make -f layers/common/Makefile byte-compile`).

    The dependencies here are this machine's wheels (the layer's are arm64), but their .pyc are
    made by the same command, so a cold start here loads the same kind of .pyc Lambda loads.
    """
    subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-f",
            str(LAYER_MAKEFILE),
            "byte-compile",
            f"DIR={target}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
    )


def lambda_environment(job: str | None) -> dict[str, str]:
    """The environment Lambda would give `job` (or any function, for the baseline), with fake credentials."""
    env = template.environment(job, include_secret_params=True) if job else {}
    env.update(
        {
            "TABLE_NAME": "gift-plans-Table-BENCH",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "ASIABENCHFAKE",
            "AWS_SECRET_ACCESS_KEY": "bench-fake-secret",
            "AWS_SESSION_TOKEN": "bench-fake-token",
            "AWS_LAMBDA_FUNCTION_NAME": job or BASELINE,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "LAMBDA_TASK_ROOT": str(ROOT / "functions" / (job or "")),
            "_HANDLER": "app.handler",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
    )
    return env


def _paths(job: str | None, dependencies: Path) -> list[str]:
    layer = [str(ROOT / "layers" / "common"), str(dependencies)]
    return ([str(ROOT / "functions" / job)] if job else []) + layer


def one_run(job: str | None, dependencies: Path) -> float:
    """Milliseconds of one cold INIT of `job` (None: the baseline) in a fresh process."""
    code = _PROBE.format(paths=_paths(job, dependencies), what=IMPORT_APP if job else BOTO3_DYNAMODB)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        env=lambda_environment(job),
        cwd=str(ROOT / "functions" / job) if job else str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"INIT of {job or BASELINE} failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def init_ms(jobs: Iterable[str], dependencies: Path, runs: int = 5) -> dict[str, float]:
    """Median INIT milliseconds per job and for the baseline; runs interleave so drift hits all alike."""
    jobs = list(jobs)
    samples: dict[str, list[float]] = {job: [] for job in [BASELINE, *jobs]}
    for _ in range(runs):
        for job in samples:
            samples[job].append(one_run(None if job == BASELINE else job, dependencies))
    return {job: round(statistics.median(values), 1) for job, values in samples.items()}


def import_profile(job: str, dependencies: Path, top: int = 25) -> list[tuple[float, str]]:
    """`python -X importtime` for `job`: the `top` modules by cumulative milliseconds."""
    code = _PROBE.format(paths=_paths(job, dependencies), what=IMPORT_APP)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-X", "importtime", "-c", code],
        env=lambda_environment(job),
        cwd=str(ROOT / "functions" / job),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((int(cumulative) / 1000, name))
    return sorted(rows, reverse=True)[:top]


def ratio_target(job: str) -> float:
    """Issue 15's targets: a function behind an HTTP route within 1.25x the baseline, the others 1.0x."""
    return 1.25 if job in _api_jobs() else 1.0


def _api_jobs() -> frozenset[str]:
    return frozenset(route.job for route in template.routes())


def instructions(job: str | None, dependencies: Path) -> int:
    """Instructions one cold INIT of `job` (None: the baseline) executes, by callgrind, the interpreter's
    own start-up taken off. Unlike CPU time it does not move with the machine's load, so two trees
    compare exactly; it does not see what memory and the kernel cost, so CPU time stays the target."""

    def counted(code: str, cwd: Path) -> int:
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={out}/cg",
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    code,
                ],
                env=lambda_environment(job),
                cwd=str(cwd),
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"callgrind gave no count:\n{done.stderr[-2000:]}")
        return int(found.group(1))

    cwd = ROOT / "functions" / job if job else ROOT
    probe = f"import sys\nsys.path[:0] = {_paths(job, dependencies)!r}\n"
    code = probe + (IMPORT_APP if job else BOTO3_DYNAMODB)
    # Once without callgrind first: a fresh clone has no .pyc of its own code yet, and compiling
    # it (about 200 M instructions) is not what a Lambda INIT does with the built layer.
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        env=lambda_environment(job),
        cwd=str(cwd),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return counted(code, cwd) - counted(probe, cwd)


def instruction_counts(jobs: Iterable[str], dependencies: Path) -> dict[str, int]:
    """`instructions` of the baseline and each job: `{BASELINE: n, job: n, ...}`."""
    counts = {BASELINE: instructions(None, dependencies)}
    return counts | {job: instructions(job, dependencies) for job in jobs}


if __name__ == "__main__":
    # python -m bench.coldstart [job ...]: a quick look (CPU ms) without the rest of the bench;
    # python -m bench.coldstart --instructions [job ...]: callgrind's instruction counts (slow: ~25 s each).
    deps = install_layer_dependencies(ROOT / ".bench" / "layer-deps")
    counting = "--instructions" in sys.argv
    wanted = [a for a in sys.argv[1:] if a != "--instructions"] or [f.job for f in template.functions()]
    if counting:
        counts = instruction_counts(wanted, deps)
        base = counts[BASELINE]
        print(
            json.dumps(
                {job: {"instructions": n, "ratio": round(n / base, 2)} for job, n in counts.items()}, indent=2
            )
        )
    else:
        print(json.dumps(init_ms(wanted, deps, runs=3), indent=2))
