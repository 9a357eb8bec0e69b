"""Pins gap 15 (sandbox/moto_gaps/change_sets.py): plain moto's change sets list, execute and join
stacks other than CloudFormation's; and shows the fix's, on the tests' moto server (no
StackOperations: the operation runs inside the call). When a pin fails after a moto upgrade, moto
fixed that gap: drop its fix."""

from __future__ import annotations

import pytest
from stackswap.sandbox.environment import client

from tests.conftest import outputs, params

QUEUE_AND_TOPIC = """
Parameters: {Name: {Type: String}}
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Ref Name}}
  Topic: {Type: AWS::SNS::Topic, Properties: {DisplayName: !Ref Name}}
Outputs: {QueueArn: {Value: !GetAtt Queue.Arn}, TopicArn: {Value: !Ref Topic}}
"""


def _change_set(cfn, kind: str, name: str, value: str) -> dict:
    cfn.create_change_set(StackName="adopted", ChangeSetName=name, ChangeSetType=kind,
                          TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name=value))
    return cfn.describe_change_set(ChangeSetName=name, StackName="adopted")


def test_gap_15_executed_create_change_set_has_no_outputs_and_update_lists_no_change(
        aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    _change_set(cfn, "CREATE", "create", "first")
    cfn.execute_change_set(ChangeSetName="create", StackName="adopted")
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    # Real CloudFormation: CREATE_COMPLETE with both outputs, and an event per resource.
    assert stack["StackStatus"] == "CREATE_COMPLETE" and "Outputs" not in stack
    events = cfn.describe_stack_events(StackName="adopted")["StackEvents"]
    assert {e["LogicalResourceId"] for e in events} == {"adopted"}
    # Real: Queue (QueueName is create-only) and Topic are modified by a parameter change.
    assert _change_set(cfn, "UPDATE", "rename", "second")["Changes"] == []


def test_change_sets_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    # "If you create a change set for a stack that doesn't exist, the change set shows all of
    # the resources that CloudFormation will create. If you create a change set for an existing
    # stack, CloudFormation compares the stack's information with the information that you
    # submit in the change set and lists the differences."
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html
    # "if the RequiresRecreation field is Always and the Evaluation field is Static,
    # Replacement is True." (AWS::SQS::Queue's QueueName is a createOnlyProperty in its schema;
    # AWS::SNS::Topic's DisplayName is not.)
    cfn = client("cloudformation", aws.endpoint, aws.region)
    created = _change_set(cfn, "CREATE", "create", "first")
    assert (created["Status"], created["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in created["Changes"]] == [("Add", "Queue"), ("Add", "Topic")]
    assert cfn.describe_stacks(StackName="adopted")["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    cfn.execute_change_set(ChangeSetName="create", StackName="adopted")
    assert set(outputs(cfn, "adopted")) == {"QueueArn", "TopicArn"}
    assert {e["LogicalResourceId"] for e in cfn.describe_stack_events(
        StackName="adopted")["StackEvents"]} >= {"adopted"}

    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in _change_set(cfn, "UPDATE", "rename", "second")["Changes"]}
    assert {name: c["Replacement"] for name, c in changes.items()} == {
        "Queue": "True", "Topic": "False"}
    (detail,) = changes["Queue"]["Details"]
    assert detail == {"Target": {"Attribute": "Properties", "Name": "QueueName",
                                 "RequiresRecreation": "Always"},
                      "Evaluation": "Static", "ChangeSource": "ParameterReference",
                      "CausingEntity": "Name"}
    # Nothing differs: the change set FAILED with the reason `aws cloudformation deploy` reads.
    same = _change_set(cfn, "UPDATE", "same", "first")
    assert (same["Status"], same["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert same["StatusReason"].startswith("The submitted information didn't contain changes")
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
    # "When you execute a change set, CloudFormation deletes all other change sets associated
    # with the stack because they aren't valid for the updated stack."
    cfn.execute_change_set(ChangeSetName="rename", StackName="adopted")
    assert [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="adopted")[
        "Summaries"]] == ["rename"]
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Parameters"] == params(Name="second")
    with pytest.raises(cfn.exceptions.ClientError, match="InvalidChangeSetStatus"):
        cfn.execute_change_set(ChangeSetName="rename", StackName="adopted")
    cfn.delete_change_set(ChangeSetName="rename", StackName="adopted")
    with pytest.raises(cfn.exceptions.ClientError, match="ChangeSetNotFound"):
        cfn.describe_change_set(ChangeSetName="rename", StackName="adopted")


def _create_change_sets(cfn, *names: str) -> list[dict]:
    """A CREATE change set named (and with the Name parameter) each of `names` for "adopted"."""
    return [cfn.create_change_set(StackName="adopted", ChangeSetName=name, ChangeSetType="CREATE",
                                  TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name=name))
            for name in names]


def test_gap_15_a_second_create_change_set_makes_moto_a_second_stack(aws, plain_moto):
    first, second = _create_change_sets(client("cloudformation", aws.endpoint, aws.region),
                                        "one", "two")
    # Real CloudFormation: one stack, both change sets on it.
    assert first["StackId"] != second["StackId"]


def test_create_change_sets_for_a_stack_in_review_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    # ChangeSetType: "If you create a change set for a new stack, CloudFormation creates a stack
    # with a unique stack ID, but no template or resources. The stack will be in the
    # REVIEW_IN_PROGRESS state until you execute the change set. [...] You can't use [...] the
    # CREATE type to create a change set for an existing stack." Such a stack is not an existing
    # one: "CloudFormation considers a stack ID with no template or resources to be a stack that
    # does not exist" (aws-cdk a52b3e3, #7731, why `cdk deploy` sends CREATE for it).
    cfn = client("cloudformation", aws.endpoint, aws.region)
    first, second = _create_change_sets(cfn, "one", "two")
    assert first["StackId"] == second["StackId"]
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in cfn.describe_change_set(ChangeSetName="two", StackName="adopted")[
                "Changes"]] == [("Add", "Queue"), ("Add", "Topic")]
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteChangeSet.html
    # "Deletes the specified change set." Nothing about the stack: it stays REVIEW_IN_PROGRESS
    # ("until you execute the change set", above) even once its last change set is gone.
    cfn.delete_change_set(ChangeSetName="one", StackName="adopted")
    cfn.delete_change_set(ChangeSetName="two", StackName="adopted")
    assert cfn.list_change_sets(StackName="adopted")["Summaries"] == []
    assert cfn.describe_stacks(StackName="adopted")["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    (third,) = _create_change_sets(cfn, "three")
    assert third["StackId"] == first["StackId"]
    cfn.execute_change_set(ChangeSetName="three", StackName="adopted")
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    assert (stack["StackId"], stack["StackStatus"]) == (first["StackId"], "CREATE_COMPLETE")
    assert stack["Parameters"] == params(Name="three")
    # Created: now an existing stack, which CREATE refuses.
    with pytest.raises(cfn.exceptions.AlreadyExistsException):
        cfn.create_change_set(StackName="adopted", ChangeSetName="four", ChangeSetType="CREATE",
                              TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name="four"))


def test_list_change_sets_lists_the_stacks_own_as_describe_does_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListChangeSets.html
    # "Returns the ID and status of each active change set for a stack." Summaries: "the ID and
    # status of each change set for the specified stack."
    cfn = client("cloudformation", aws.endpoint, aws.region)
    _change_set(cfn, "CREATE", "create", "first")
    cfn.create_change_set(StackName="other", ChangeSetName="elsewhere", ChangeSetType="CREATE",
                          TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name="other"))
    (summary,) = cfn.list_change_sets(StackName="adopted")["Summaries"]
    described = cfn.describe_change_set(ChangeSetName="create", StackName="adopted")
    fields = ("StackId", "StackName", "ChangeSetId", "ChangeSetName", "ExecutionStatus", "Status")
    assert {k: summary[k] for k in fields} == {k: described[k] for k in fields}
    assert (summary["Status"], summary["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    by_id = cfn.list_change_sets(StackName=described["StackId"])["Summaries"]
    assert [s["ChangeSetName"] for s in by_id] == ["create"]
