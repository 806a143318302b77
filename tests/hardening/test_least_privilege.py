"""Least privilege: each function's role allows exactly the actions its code needs, no more, no less.

NEEDS is the allowlist, kept by hand beside the test: add an action here in the same change
that adds the code calling it. tests/static/test_template.py checks the finer grain (which
table actions, which indexes, which SSM parameters); this test covers every service.
"""

from __future__ import annotations

import json

import pytest

from tests.static.test_template import FUNCTIONS, _job_of, _listify, _statements

SECRETS = {"ssm:GetParameter", "kms:Decrypt"}  # giftplans.secrets: SecureString parameters
STREAM = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
OWN_ROLE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def table(*actions: str) -> set[str]:
    return {f"dynamodb:{a}" for a in actions}


NEEDS: dict[str, set[str]] = {
    "checkout": SECRETS,  # Stripe API key; no table access
    "stripe_webhook": SECRETS  # lambda:InvokeFunction: giftplans.closing hands a full refund to the sweep
    | table("GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "Query")
    | {"lambda:InvokeFunction"},
    "purchases_api": SECRETS
    | table("GetItem", "BatchGetItem", "Query", "UpdateItem", "PutItem", "ConditionCheckItem"),
    "invitations_api": SECRETS | table("GetItem", "UpdateItem", "PutItem", "ConditionCheckItem"),
    "me_api": SECRETS | table("GetItem", "UpdateItem", "PutItem"),
    "upgrades_api": SECRETS | table("GetItem", "UpdateItem", "PutItem"),
    "admin_api": SECRETS  # DeleteItem: erasure's audit mentions (docs/privacy.md)
    | table("GetItem", "BatchGetItem", "Query", "UpdateItem", "PutItem", "DeleteItem", "ConditionCheckItem"),
    "openapi": set(),  # serves a file
    # explicit roles (stream consumers): their own log group, tracing, the stream, the failure queue
    "mailer": SECRETS
    | STREAM
    | OWN_ROLE
    | table("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query")  # Query: issue 16's reminder list
    | table("BatchGetItem")  # the redrive: parked mail by UNSENT#<day> (Query on GSI2), then the markers
    | {"ses:SendEmail", "sqs:SendMessage"},
    # UpdateItem: an accepted gift's sender onto the recipient's entitlement (giftplans.givers)
    "events_publisher": STREAM | OWN_ROLE | table("UpdateItem") | {"events:PutEvents", "sqs:SendMessage"},
    "ses_feedback": table("GetItem", "UpdateItem", "PutItem"),
    # Metrics go out as EMF through the log, so no cloudwatch:PutMetricData
    "expiry_sweep": table("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")
    | {"lambda:InvokeFunction"},
    # SPEC 8.1: Query of the due index, one touch (seat update + audit put) per due seat
    "deliveries": table("Query", "UpdateItem", "PutItem"),
}
# Actions AWS offers no resource-level permission for: "*" is the only resource there is.
NO_RESOURCE_LEVEL = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _actions(lid: str) -> set[str]:
    return {a for s in _statements(lid) for a in _listify(s["Action"])}


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_given_a_function_role_when_compared_with_its_allowlist_then_nothing_more_and_nothing_less(lid):
    job = _job_of(lid)
    granted = _actions(lid)

    assert granted - NEEDS[job] == set(), f"{job}: allowed but not needed by its code"
    assert NEEDS[job] - granted == set(), f"{job}: needed by its code but not allowed"


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_given_a_function_role_when_read_then_no_wildcard_action_and_no_wildcard_resource(lid):
    for s in _statements(lid):
        actions = _listify(s["Action"])
        assert not any("*" in a for a in actions), f"{lid}: {actions}"
        for resource in _listify(s["Resource"]):
            text = json.dumps(resource)
            if resource == "*":
                assert set(actions) <= NO_RESOURCE_LEVEL, f"{lid}: {actions} on every resource"
            elif any(a.startswith("dynamodb:") for a in actions):
                assert "table/*" not in text and ":*" not in text, f"{lid}: {text}"


def test_given_the_allowlist_when_compared_with_the_functions_then_every_job_has_a_row():
    assert set(NEEDS) == {_job_of(lid) for lid in FUNCTIONS}
