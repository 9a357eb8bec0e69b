"""The poll loop, driven by scripted CloudFormation replies (botocore Stubber) and a virtual
clock: it notices the end of an operation, tells success from rollback, survives failed polls,
and stops at its deadline."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.model import ROLLED_BACK, SUCCEEDED
from stackswap.orchestrator.wait import DeadlineExceeded, Schedule, wait_for_stack

from tests.harness import VirtualClock

STACK = "shop-green"
NOW = datetime.datetime(2026, 11, 27, tzinfo=datetime.UTC)


def event(number: int, status: str, logical_id: str = STACK, reason: str = "") -> dict:
    kind = "AWS::CloudFormation::Stack" if logical_id == STACK else "AWS::ECS::Service"
    return {"StackId": "id", "EventId": f"e{number}", "StackName": STACK, "Timestamp": NOW,
            "LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status,
            "ResourceStatusReason": reason}


def described(status: str) -> dict:
    return {"Stacks": [{"StackName": STACK, "StackId": "id", "StackStatus": status,
                        "CreationTime": NOW}]}


@pytest.fixture
def aws():
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="x",
                            aws_secret_access_key="x")
    aws = Aws(session, "http://127.0.0.1:9")  # never reached: every reply is stubbed
    with Stubber(aws.client("cloudformation")) as stubber:
        yield aws, stubber
        stubber.assert_no_pending_responses()


def events_reply(stubber: Stubber, *newest_first: dict) -> None:
    stubber.add_response("describe_stack_events", {"StackEvents": list(newest_first)},
                         {"StackName": STACK})


def test_success_is_noticed_on_the_poll_that_sees_it(aws):
    aws, stubber = aws
    seen = []
    events_reply(stubber, event(1, "UPDATE_IN_PROGRESS"), event(0, "CREATE_COMPLETE"))
    events_reply(stubber, event(2, "UPDATE_IN_PROGRESS", "Service"), event(1, "x"))
    events_reply(stubber, event(4, "UPDATE_COMPLETE"), event(3, "UPDATE_COMPLETE", "Service"),
                 event(2, "x"))
    clock = VirtualClock()
    result = wait_for_stack(aws, STACK, marker="e0", timeout=60, clock=clock,
                            on_event=seen.append, rand=lambda: 0.5)
    # the stack's own terminal event ends the wait: no other call is needed to know
    assert result.outcome == SUCCEEDED and result.status == "UPDATE_COMPLETE"
    assert [e.event_id for e in seen] == ["e1", "e2", "e3", "e4"]
    assert clock.slept == pytest.approx([0.1, 0.2, 0.4])


def test_rollback_reports_the_first_failed_resource(aws):
    aws, stubber = aws
    events_reply(stubber, event(5, "UPDATE_ROLLBACK_COMPLETE"),
                 event(4, "UPDATE_ROLLBACK_IN_PROGRESS", reason="failed: [Service]"),
                 event(3, "UPDATE_FAILED", "Service", "Circuit Breaker was triggered"),
                 event(2, "UPDATE_IN_PROGRESS"), event(0, "CREATE_COMPLETE"))
    result = wait_for_stack(aws, STACK, marker="e0", timeout=60, clock=VirtualClock())
    assert result.outcome == ROLLED_BACK
    assert result.failure_text() == "Service UPDATE_FAILED: Circuit Breaker was triggered"


def test_a_failed_poll_is_not_a_failed_stack(aws):
    aws, stubber = aws
    stubber.add_client_error("describe_stack_events", "Throttling", "Rate exceeded",
                             http_status_code=400)
    stubber.add_client_error("describe_stack_events", "InternalFailure", "oops",
                             http_status_code=500)
    events_reply(stubber, event(1, "UPDATE_COMPLETE"), event(0, "x"))
    result = wait_for_stack(aws, STACK, marker="e0", timeout=60, clock=VirtualClock())
    assert result.outcome == SUCCEEDED


def polls_within(schedule: Schedule, seconds: float) -> int:
    polls = 0
    while sum(schedule.interval(n, lambda: 0.5) for n in range(polls)) < seconds:
        polls += 1
    return polls


def test_deadline_stops_the_wait_and_names_the_stack(aws):
    aws, stubber = aws
    for poll in range(1, polls_within(Schedule(), 5) + 1):
        events_reply(stubber, event(poll, "UPDATE_IN_PROGRESS", "Service"),
                     event(poll - 1, "x"))
    with pytest.raises(DeadlineExceeded) as raised:
        wait_for_stack(aws, STACK, marker="e0", timeout=5, clock=VirtualClock(),
                       rand=lambda: 0.5)
    assert raised.value.stack == STACK
    assert "shop-green is still" in raised.value.message
    assert raised.value.exit_code == 7


def test_a_missed_terminal_event_is_caught_by_the_periodic_describe_stacks(aws):
    aws, stubber = aws
    schedule = Schedule()
    # the stream never shows the stack finishing; DescribeStacks, asked after
    # confirm_seconds of polling, says it has
    for poll in range(1, polls_within(schedule, schedule.confirm_seconds) + 1):
        events_reply(stubber, event(poll, "UPDATE_IN_PROGRESS", "Service"),
                     event(poll - 1, "x"))
    stubber.add_response("describe_stacks", described("UPDATE_COMPLETE"), {"StackName": STACK})
    result = wait_for_stack(aws, STACK, marker="e0", timeout=120, clock=VirtualClock(),
                            rand=lambda: 0.5)
    assert result.outcome == SUCCEEDED


@pytest.mark.parametrize("rand", [0.0, 0.5, 1.0])
def test_schedule_polls_soon_then_at_most_one_and_a_half_calls_per_second(rand):
    schedule = Schedule()
    intervals = [schedule.interval(n, lambda: rand) for n in range(200)]
    assert intervals[0] <= 0.15
    # one DescribeStackEvents per poll, plus a DescribeStacks every confirm_seconds
    calls_per_second = 200 / sum(intervals) + 1 / schedule.confirm_seconds
    assert calls_per_second <= (1.5 if rand == 0.5 else 1.55)  # mean, and worst-case jitter
    assert max(intervals) <= schedule.cap * (1 + schedule.jitter)


def test_the_schedule_holds_its_cap_through_hours_of_polls():
    # A 60-minute monitoring window is thousands of polls: the interval stays at the cap (a
    # power of the growth that grew with each poll overflowed a float after ~1000 of them).
    schedule = Schedule()
    assert schedule.interval(5000, lambda: 0.5) == schedule.cap
