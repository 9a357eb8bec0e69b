"""Pins gap 14 (sandbox/moto_gaps/composite_alarms.py): plain moto can neither put a composite alarm
nor evaluate one; and shows the fix's evaluation. When a pin fails after a moto upgrade, moto fixed
that gap: drop its fix."""

from __future__ import annotations

from moto.cloudwatch.models import cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core import DEFAULT_ACCOUNT_ID
from stackswap.sandbox.environment import client

from tests.conftest import metric_alarm


def test_gap_14_composite_alarms_cannot_be_put_nor_evaluated(aws, plain_moto):
    # Over HTTP moto answers PutCompositeAlarm with a 500 page.
    assert not hasattr(CloudWatchResponse, "put_composite_alarm")
    cloudwatch = client("cloudwatch", aws.endpoint, aws.region)
    metric_alarm(cloudwatch, "child")
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][aws.region]
    backend.put_metric_alarm(name="parent", namespace=None, metric_name=None,
                             comparison_operator=None, evaluation_periods=None, period=None,
                             threshold=None, statistic=None, description=None, dimensions=[],
                             alarm_actions=[], rule='ALARM("child")')
    cloudwatch.set_alarm_state(AlarmName="child", StateValue="ALARM", StateReason="pin")
    (parent,) = cloudwatch.describe_alarms(AlarmNames=["parent"],
                                           AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert parent["StateValue"] == "OK"  # real: ALARM, its rule holds


def test_composite_alarms_with_the_fix(aws):
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
    # "The composite alarm goes into ALARM state only if all conditions of the rule are met.";
    # AlarmRule: functions ALARM/OK/INSUFFICIENT_DATA("alarm-name or alarm-ARN"), "operators
    # (AND, OR and NOT) [...] parenthesis to logically group", TRUE and FALSE; "The alarms
    # specified in a composite alarm's rule expression can include metric alarms and other
    # composite alarms."
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html
    # "If you use SetAlarmState on a composite alarm, the composite alarm is not guaranteed to
    # return to its actual state. It returns to its actual state only once any of its children
    # alarms change state. It is also reevaluated if you update its configuration."
    cloudwatch = client("cloudwatch", aws.endpoint, aws.region)
    errors = metric_alarm(cloudwatch, "shop-5xx")
    metric_alarm(cloudwatch, "shop-latency")
    metric_alarm(cloudwatch, "maintenance")
    cloudwatch.put_composite_alarm(
        AlarmName="shop-slo", AlarmRule=f'ALARM("{errors}") OR ALARM(shop-latency)')
    cloudwatch.put_composite_alarm(
        AlarmName="page", AlarmRule='ALARM("shop-slo") AND NOT (ALARM("maintenance") OR FALSE)')

    def states() -> dict[str, str]:
        found = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        return {a["AlarmName"]: a["StateValue"]
                for a in found["MetricAlarms"] + found["CompositeAlarms"]}

    def set_state(name: str, state: str) -> None:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    composites = cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert {a["AlarmName"]: a["AlarmRule"] for a in composites}["shop-slo"] == \
        f'ALARM("{errors}") OR ALARM(shop-latency)'
    assert states() == {"shop-5xx": "OK", "shop-latency": "OK", "maintenance": "OK",
                        "shop-slo": "OK", "page": "OK"}
    set_state("shop-5xx", "ALARM")  # by ARN in the rule
    assert (states()["shop-slo"], states()["page"]) == ("ALARM", "ALARM")
    set_state("maintenance", "ALARM")
    assert (states()["shop-slo"], states()["page"]) == ("ALARM", "OK")
    set_state("maintenance", "OK")
    set_state("shop-5xx", "OK")
    assert (states()["shop-slo"], states()["page"]) == ("OK", "OK")
    set_state("shop-slo", "ALARM")  # by hand: kept until a child changes state
    assert (states()["shop-slo"], states()["page"]) == ("ALARM", "ALARM")
    set_state("shop-latency", "INSUFFICIENT_DATA")
    assert (states()["shop-slo"], states()["page"]) == ("OK", "OK")
    cloudwatch.put_composite_alarm(AlarmName="page", AlarmRule="TRUE")  # re-evaluated when put
    assert states()["page"] == "ALARM"
