"""local.functions: each invocation runs with a Lambda context naming its own function, and so do its logs."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from local.functions import Functions

HANDLER = """
import time
from aws_lambda_powertools import Logger

logger = Logger(service="SERVICE")  # every function shares one service name, as ours do


@logger.inject_lambda_context
def handler(event, context):
    for n in range(20):
        logger.info("working", extra={"n": n, "written_by": "JOB"})
        time.sleep(0.001)
    return context.function_name
"""


@pytest.fixture
def functions(tmp_path: Path) -> Functions:
    service = f"gift-plans-{uuid.uuid4().hex[:8]}"  # a logger of its own: it binds stdout when made
    for job in ("mailer", "events_publisher", "ses_feedback"):
        (tmp_path / job).mkdir()
        (tmp_path / job / "app.py").write_text(HANDLER.replace("SERVICE", service).replace("JOB", job))
    names = {
        "mailer": "gift-plans-local-mailer",
        "events_publisher": "gift-plans-local-events-publisher",
        "ses_feedback": "gift-plans-local-ses-feedback",
    }
    return Functions(tmp_path, names=names)


def test_given_functions_in_one_process_when_invoked_then_each_context_names_its_own_function(
    functions: Functions,
) -> None:
    assert functions.invoke("mailer", {}) == "gift-plans-local-mailer"
    assert functions.invoke("ses_feedback", {}) == "gift-plans-local-ses-feedback"


def test_given_functions_invoked_at_once_when_they_log_then_every_line_carries_its_own_function_name(
    functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    """Powertools' appended keys are shared by every logger of the service in one process: without the
    local tagging a line of one function is tagged with whichever function was injected last."""
    jobs = ["mailer", "events_publisher", "ses_feedback"] * 3
    start = threading.Barrier(len(jobs))
    answers: list[Any] = []

    def run(job: str) -> None:
        start.wait(timeout=10)
        answers.append((job, functions.invoke(job, {})))

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 20 * len(jobs)
    wrong = [
        (line["written_by"], line["function_name"])
        for line in lines
        if line["function_name"] != functions.name(line["written_by"])
    ]
    assert wrong == []
    assert len({line["function_request_id"] for line in lines}) == len(jobs)
    assert sorted(a for _, a in answers) == sorted(functions.name(job) for job in jobs)
