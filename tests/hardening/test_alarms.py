"""Operations: every alarm goes to the SNS topic given as the AlarmTopicArn parameter.

What is alarmed (each on-failure destination, each function's Errors and Throttles, the
API's 5xx) is held by tests/static/test_template.py; this adds that nobody is left unpaged.
The runbook for these alarms: docs/runbook.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.static.test_template import FUNCTIONS, RESOURCES, T

ALARMS = {lid: r["Properties"] for lid, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
TO_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_given_the_template_when_read_then_the_alarm_topic_is_a_parameter():
    assert T["Parameters"]["AlarmTopicArn"]["Type"] == "String"
    assert T["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}


@pytest.mark.parametrize("lid", sorted(ALARMS))
def test_given_an_alarm_when_it_fires_or_clears_then_the_alarm_topic_is_told(lid):
    alarm = ALARMS[lid]
    assert alarm["AlarmActions"] == TO_TOPIC
    assert alarm["OKActions"] == TO_TOPIC
    assert alarm.get("TreatMissingData") == "notBreaching", "no data (a quiet night) is not an incident"


def test_given_the_alarms_when_counted_then_each_function_has_two_plus_queues_and_the_api():
    queues = [r for r in RESOURCES.values() if r["Type"] == "AWS::SQS::Queue"]
    assert len(ALARMS) >= 2 * len(FUNCTIONS) + len(queues) + 1


# ---- the alarm set, written out once more by hand ------------------------------------------------------
# The 29 alarms as release 0.1.0 wrote them in template.yaml, one block each. The template now
# generates them (Fn::ForEach, docs/design.md "Alarms"); this is the independent second copy that
# proves the generated set is the same, resource for resource, property for property. A new
# function or failure queue adds its name below in the same change that adds it to the template.
FUNCTIONS_ALARMED = [
    "Checkout",
    "StripeWebhook",
    "PurchasesApi",
    "InvitationsApi",
    "MeApi",
    "UpgradesApi",
    "AdminApi",
    "OpenApi",
    "Mailer",
    "EventsPublisher",
    "SesFeedback",
    "ExpirySweep",
    "Deliveries",
]
QUEUES_ALARMED = ["Mailer", "EventsPublisher", "SesFeedback", "ExpirySweep", "Deliveries"]


def _alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, Any]],
    statistic: str,
    period: int,
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": TO_TOPIC,
            "OKActions": TO_TOPIC,
        },
    }


def _function(name: str) -> list[dict[str, Any]]:
    return [{"Name": "FunctionName", "Value": {"Ref": f"{name}Function"}}]


EXPECTED_ALARMS: dict[str, dict[str, Any]] = {
    **{
        f"{name}ErrorsAlarm": _alarm(
            f"{name}Function raised errors.", "AWS/Lambda", "Errors", _function(name), "Sum", 300
        )
        for name in FUNCTIONS_ALARMED
    },
    **{
        f"{name}ThrottlesAlarm": _alarm(
            f"{name}Function was throttled.", "AWS/Lambda", "Throttles", _function(name), "Sum", 300
        )
        for name in FUNCTIONS_ALARMED
    },
    **{
        f"{name}DeadLetterAlarm": _alarm(
            f"Failed {name} work is waiting in {name}DeadLetterQueue.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{name}DeadLetterQueue", "QueueName"]}}],
            "Maximum",
            60,
        )
        for name in QUEUES_ALARMED
    },
    # Business metrics that mean a person must act (issue 14): one Fn::ForEach over the metric names.
    "UnfulfillableCheckoutAlarm": _alarm(
        "UnfulfillableCheckout was counted: see docs/runbook.md and GET /admin/attention.",
        "GiftPlans",
        "UnfulfillableCheckout",
        [{"Name": "service", "Value": "gift-plans"}],
        "Sum",
        300,
    ),
    # Mail SES could not take, parked for the redrive (issue 14)
    "EmailsParkedAlarm": _alarm(
        "EmailsParked was counted: SES is refusing mail for now; see docs/runbook.md, SES outage.",
        "GiftPlans",
        "EmailsParked",
        [{"Name": "service", "Value": "gift-plans"}],
        "Sum",
        300,
    ),
    # A stream consumer an hour behind (issue 14): IteratorAge, in milliseconds
    **{
        f"{name}IteratorAgeAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                **_alarm(
                    f"{name}Function is more than an hour behind the table stream.",
                    "AWS/Lambda",
                    "IteratorAge",
                    _function(name),
                    "Maximum",
                    300,
                )["Properties"],
                "Threshold": 3600000,
            },
        }
        for name in ("Mailer", "EventsPublisher")
    },
    "Api5xxAlarm": _alarm(
        "The HTTP API answered 5xx (never expected for client input).",
        "AWS/ApiGateway",
        "5xx",
        [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}, {"Name": "Stage", "Value": "$default"}],
        "Sum",
        60,
    ),
}


def test_given_the_template_when_its_alarms_are_read_then_they_are_exactly_the_alarms_of_0_1_0():
    alarms = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}

    assert len(EXPECTED_ALARMS) == 36  # 30 of 0.1.0, the deliveries function's 3 (SPEC 8.1), issue 14's 3
    assert sorted(alarms) == sorted(EXPECTED_ALARMS), "an alarm was lost, renamed or added"
    for lid, expected in EXPECTED_ALARMS.items():
        assert alarms[lid] == expected, lid


def test_given_the_alarm_lists_when_compared_with_the_template_then_every_function_and_queue_is_named():
    functions = {lid.removesuffix("Function") for lid in FUNCTIONS}
    queues = {
        lid.removesuffix("DeadLetterQueue") for lid, r in RESOURCES.items() if r["Type"] == "AWS::SQS::Queue"
    }

    assert set(FUNCTIONS_ALARMED) == functions
    assert set(QUEUES_ALARMED) == queues
