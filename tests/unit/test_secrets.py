"""Secrets come from SSM when deployed; plain values and local defaults are for local runs only."""

from __future__ import annotations

import pytest
from giftplans import secrets


def test_given_local_run_when_no_value_set_then_local_default(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("TOKEN_KEY", raising=False)
    monkeypatch.delenv("TOKEN_KEY_PARAM", raising=False)

    assert secrets.get("TOKEN_KEY") == secrets.LOCAL_DEFAULTS["TOKEN_KEY"]


def test_given_lambda_without_parameter_name_when_secret_read_then_refused(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "gift-plans-dev-me-api")
    monkeypatch.setenv("TOKEN_KEY", "a-plain-value-in-the-environment")
    monkeypatch.delenv("TOKEN_KEY_PARAM", raising=False)

    with pytest.raises(RuntimeError, match="TOKEN_KEY_PARAM"):
        secrets.get("TOKEN_KEY")


def test_given_parameter_name_when_secret_read_then_fetched_from_ssm_decrypted(aws, monkeypatch):
    import boto3

    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/gift-plans/test/token-key", Value="from-ssm", Type="SecureString")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "gift-plans-dev-me-api")
    monkeypatch.setenv("TOKEN_KEY_PARAM", "/gift-plans/test/token-key")

    assert secrets.get("TOKEN_KEY") == "from-ssm"
