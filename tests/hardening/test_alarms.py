"""Operations: every alarm goes to the SNS topic given as the AlarmTopicArn parameter.

What is alarmed (each on-failure destination, each function's Errors and Throttles, the
API's 5xx) is held by tests/static/test_template.py; this adds that nobody is left unpaged.
The runbook for these alarms: docs/runbook.md.
"""

from __future__ import annotations

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
