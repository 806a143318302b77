"""Powertools' Tracer is opt-in (template parameter EnableTracing -> ENABLE_TRACING): off, no Tracer is built
and the X-Ray SDK is never imported (its INIT cost stays out of every cold start); on, every handler runs
inside `tracer.capture_lambda_handler` and botocore (under boto3 and PynamoDB) is patched.

Each case runs in a fresh interpreter: the tracer is decided when `giftplans.observability` is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from local import template as tpl

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from giftplans import observability

seen = []

class Recording:
    # stands in for the X-Ray recorder: records the subsegments the handler opens
    class _Sub:
        def put_annotation(self, key, value):
            seen.append(("annotation", key))
        def put_metadata(self, key, value, namespace=None):
            pass
    def in_subsegment(self, name):
        import contextlib
        seen.append(("subsegment", name))
        return contextlib.nullcontext(self._Sub())

if observability.tracer is not None:
    observability.tracer.provider = Recording()

@observability.entry()
def handler(event, context):
    return {"ok": True}

class Context:
    function_name = "gift-plans-probe"
    aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:gift-plans-probe"
    memory_limit_in_mb = 512

result = handler({}, Context())
patched = []
if "aws_xray_sdk.core.patcher" in sys.modules:
    patched = sorted(sys.modules["aws_xray_sdk.core.patcher"]._PATCHED_MODULES)
print(json.dumps({
    "tracer": type(observability.tracer).__name__,
    "disabled": getattr(observability.tracer, "disabled", None),
    "xray_imported": any(m == "aws_xray_sdk" or m.startswith("aws_xray_sdk.") for m in sys.modules),
    "result": result,
    "seen": seen,
    "patched": patched,
    "worn": getattr(handler, observability.WORN, False),
}))
"""


def probe(**env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if k not in {"ENABLE_TRACING", "POWERTOOLS_TRACE_DISABLED"}}
    clean.update(POWERTOOLS_METRICS_DISABLED="true", **env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "layers" / "common"), str(ROOT)],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_given_tracing_off_when_a_handler_runs_then_no_tracer_and_no_xray_sdk_is_imported():
    for env in ({}, {"ENABLE_TRACING": "false"}):
        seen = probe(**env)
        assert seen["tracer"] == "NoneType"
        assert seen["xray_imported"] is False
        assert seen["result"] == {"ok": True} and seen["worn"] is True
        assert seen["seen"] == []


def test_given_tracing_on_in_test_mode_when_a_handler_runs_then_it_runs_inside_the_tracers_subsegment():
    seen = probe(ENABLE_TRACING="true", POWERTOOLS_TRACE_DISABLED="true")
    assert seen["tracer"] == "Tracer" and seen["disabled"] is True
    assert seen["result"] == {"ok": True} and seen["worn"] is True
    assert ["subsegment", "## handler"] in seen["seen"]
    assert ["annotation", "ColdStart"] in seen["seen"]
    assert seen["patched"] == []  # a disabled tracer patches nothing


def test_given_tracing_on_in_lambda_when_imported_then_botocore_is_patched():
    # Powertools enables the tracer only inside Lambda (LAMBDA_TASK_ROOT set, not under `sam local`).
    seen = probe(ENABLE_TRACING="true", LAMBDA_TASK_ROOT=str(ROOT), AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")
    assert seen["tracer"] == "Tracer" and seen["disabled"] is False
    assert seen["patched"] == ["botocore"]
    assert ["subsegment", "## handler"] in seen["seen"]


def test_given_template_when_read_then_tracing_is_a_parameter_off_by_default_and_reaches_every_function():
    param = tpl.load()["Parameters"]["EnableTracing"]
    assert (param["Default"], sorted(param["AllowedValues"])) == ("false", ["false", "true"])
    for job in {f.job for f in tpl.functions()}:
        assert tpl.environment(job)["ENABLE_TRACING"] == "false", job
