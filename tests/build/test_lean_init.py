"""What a function's INIT loads: nothing of Powertools it never uses (issue 15 item 5, cold start).

Each function is imported the way Lambda imports it (`import app` with its folder and the
layer's code first on the path, its deployed environment) in a fresh interpreter, and the
modules it loaded are read back. `make bench` measures what INIT costs; this test says why,
and fails the day an import brings the unused resolvers, every event source's data class or
asyncio back (giftplans.lean_imports, the mailer's own batch report, the sweep's payload), or pydantic.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import coldstart
from local import template

ROOT = Path(__file__).resolve().parents[2]
JOBS = [f.job for f in template.functions() if f.job != "openapi"]
NEVER_AT_INIT = (
    "asyncio",  # Powertools' batch and async resolvers
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.vpc_lattice",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes.s3_event",  # one of the ~30 event sources' classes
)
SCHEDULED = ("expiry_sweep", "deliveries", "mailer", "events_publisher", "ses_feedback")


def loaded_at_init(job: str) -> set[str]:
    return set(json.loads(run_after_init(job, "import json; print(json.dumps(sorted(sys.modules)))")))


def run_after_init(job: str, probe: str) -> str:
    """The last line `probe` prints after `import app` as Lambda imports it (folder first, deployed env)."""
    code = (
        "import sys\n"
        f"sys.path[:0] = {[str(ROOT / 'functions' / job), str(ROOT / 'layers' / 'common')]!r}\n"
        "import app\n"
        f"{probe}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=coldstart.lambda_environment(job),
        cwd=str(ROOT / "functions" / job),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("job", JOBS)
def test_given_any_function_when_its_init_runs_then_nothing_it_never_uses_is_loaded(job: str) -> None:
    loaded = loaded_at_init(job)

    assert "app" in loaded
    assert sorted(loaded.intersection(NEVER_AT_INIT)) == []


@pytest.mark.parametrize("job", JOBS)
def test_given_any_function_when_its_init_runs_then_pydantic_is_not_loaded(job: str) -> None:
    # Routes declare what they take as JSON Schema (giftplans.contract), checked by jsonschema_rs:
    # pydantic's import and model building were about a third of an API function's INIT.
    loaded = loaded_at_init(job)

    assert sorted(name for name in loaded if name.split(".")[0] in ("pydantic", "pydantic_core")) == []


def test_given_the_functions_code_then_powertools_event_handler_is_imported_only_through_giftplans_http() -> (
    None
):
    # A direct import in a function's module runs before giftplans.http's, so the event
    # handler's package `__init__` (every resolver, asyncio) would load whole again.
    direct = []
    for path in sorted((ROOT / "functions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            direct += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.startswith("aws_lambda_powertools.event_handler")
            ]
    assert direct == []
