"""The webhook's hand-off to the background (a full refund's close job), as deployed, with nothing run.

In Lambda the webhook invokes the expiry_sweep function asynchronously (`closing.BACKGROUND_ENV`
names it); `LambdaInvocations` stands in for boto3's Lambda client and records each invocation,
so a test can check what was handed off, then run the background itself (or not, to see the
purchase while its close job is pending).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from giftplans import closing

BACKGROUND_FUNCTION = "gift-plans-test-expiry-sweep"


class LambdaInvocations:
    """boto3's Lambda client as the webhook sees it in Lambda: each invocation recorded, nothing run."""

    def __init__(self) -> None:
        self.invoked: list[tuple[str, str, dict[str, Any]]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        self.invoked.append((FunctionName, InvocationType, json.loads(Payload)))
        return {"StatusCode": 202}

    def payloads(self) -> list[dict[str, Any]]:
        return [payload for _, _, payload in self.invoked]


def deploy(monkeypatch: pytest.MonkeyPatch) -> LambdaInvocations:
    """Run as inside Lambda, with the background function named in the environment; boto3's other
    clients are the real ones (moto's)."""
    import boto3

    fake, real = LambdaInvocations(), boto3.client
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.13")
    monkeypatch.setenv(closing.BACKGROUND_ENV, BACKGROUND_FUNCTION)
    monkeypatch.setattr(
        boto3, "client", lambda name, *a, **kw: fake if name == "lambda" else real(name, *a, **kw)
    )
    return fake
