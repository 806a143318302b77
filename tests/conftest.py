"""Shared fixtures: an emulated AWS account (moto), the one table as template.yaml defines it,
and a settable clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

TEST_TABLE = "gift-plans-test"
MAIL_FROM = "gifts@example.com"
SUPPORT_ROLE_ARN = "arn:aws:iam::000000000000:role/gift-plans-support"  # as make dev's (local/auth.py)

# Before any giftplans import: models read the table name and region at import time.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"]
os.environ["TABLE_NAME"] = TEST_TABLE
os.environ["MAIL_FROM"] = MAIL_FROM
os.environ["SUPPORT_ROLE_ARN"] = SUPPORT_ROLE_ARN  # /admin answers its sessions only
os.environ["GIFTPLANS_CHECK_ANSWERS"] = "1"  # each answer checked against its route's giftplans.contract
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # moto's fake credentials
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GiftPlans")


def create_table() -> None:
    """The table exactly as template.yaml defines it (one source of truth)."""
    import boto3

    from local.template import table_definition

    client = boto3.client("dynamodb")
    client.create_table(**table_definition(table_name=TEST_TABLE))
    client.update_time_to_live(
        TableName=TEST_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    from local.dynamodb import apply as dynamodb_requests_atomic

    dynamodb_requests_atomic()
    with mock_aws():
        import boto3
        from giftplans import observability, settings
        from giftplans.store import get_store

        settings.get.cache_clear()
        get_store.cache_clear()
        observability.metrics.clear_metrics()  # what a Given-step counted outside any handler
        create_table()
        boto3.client("sesv2").create_email_identity(EmailIdentity=MAIL_FROM)
        boto3.client("ses").verify_email_identity(EmailAddress=MAIL_FROM)
        yield
        get_store.cache_clear()


class TestClock:
    """Frozen UTC clock for a test: `set(dt)`, `advance(days=1)`, `now`."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, instant: datetime) -> None:
        from giftplans import clock

        clock.freeze(instant)

    def advance(self, **delta: float) -> datetime:
        from giftplans import clock

        instant = clock.now() + timedelta(**delta)
        clock.freeze(instant)
        return instant

    @property
    def now(self) -> datetime:
        from giftplans import clock

        return clock.now()


CLOCK_START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[TestClock]:
    from giftplans import clock as real_clock

    test_clock = TestClock(CLOCK_START)
    yield test_clock
    real_clock.reset()


@pytest.fixture
def settings() -> Iterator[None]:
    from giftplans import settings as s

    s.get.cache_clear()
    yield
    s.get.cache_clear()


@pytest.fixture
def stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Stripe fake (tests/support/stripe_fake.FakeStripe): ids like `coupon_test_0001`."""
    from tests.support.stripe_fake import FakeStripe

    with FakeStripe().serving(monkeypatch, api_key="sk_test_recorder") as fake:
        yield fake


@pytest.fixture
def stripe_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Stripe fake with ids `cs_test_stub_0001`; key sk_test_stub."""
    from tests.support.stripe_fake import FakeStripe

    with FakeStripe(tag="stub_").serving(monkeypatch) as fake:
        yield fake


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The webhook as deployed: in Lambda, its background function named; invocations recorded, not run."""
    from tests.support.background import deploy

    return deploy(monkeypatch)
