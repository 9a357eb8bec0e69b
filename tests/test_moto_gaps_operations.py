"""Pins gaps 8, 9, 11 and 13 (sandbox/moto_gaps/operations.py): with plain moto stack operations
complete inside the call, cannot be cancelled, drop their RollbackConfiguration and delete a
protected stack. These gaps are filled by the sandbox's emulator (sandbox/stack_operations.py),
which moto_gaps wires into moto; the tests' moto server runs without it. When a pin fails after a
moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

from moto.cloudformation.responses import CloudFormationResponse
from stackswap.sandbox.environment import client

from tests.conftest import TOPIC, metric_alarm


def test_gap_8_stack_operations_complete_inside_the_call(plain_moto, stacks):
    config, cfn, _ = stacks
    (described,) = cfn.describe_stacks(StackName=config.service_stack("blue"))["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"  # real: CREATE_IN_PROGRESS for minutes


def test_gap_9_cancel_update_stack_is_not_implemented(plain_moto):
    # Over HTTP moto answers a 500 page ("The cancel_update_stack action has not been
    # implemented") that botocore cannot even parse.
    assert not hasattr(CloudFormationResponse, "cancel_update_stack")


def test_gap_11_rollback_configuration_is_dropped(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    arn = metric_alarm(client("cloudwatch", aws.endpoint, aws.region), "gap11")
    cfn.create_stack(StackName="gap11", TemplateBody=TOPIC, RollbackConfiguration={
        "RollbackTriggers": [{"Arn": arn, "Type": "AWS::CloudWatch::Alarm"}],
        "MonitoringTimeInMinutes": 5})
    (described,) = cfn.describe_stacks(StackName="gap11")["Stacks"]
    # Real DescribeStacks shows the stack's saved RollbackConfiguration (`{}` when none).
    assert "RollbackConfiguration" not in described


def test_gap_13_a_protected_stack_is_deleted(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    stack_id = cfn.create_stack(StackName="gap13", TemplateBody=TOPIC,
                                EnableTerminationProtection=True)["StackId"]
    cfn.delete_stack(StackName="gap13")
    # Real CloudFormation refuses: ValidationError "Stack [gap13] cannot be deleted while
    # TerminationProtection is enabled", the stack unchanged.
    (described,) = cfn.describe_stacks(StackName=stack_id)["Stacks"]
    assert described["StackStatus"] == "DELETE_COMPLETE"


def test_gap_13_is_left_to_the_sandbox_so_the_moto_server_still_deletes(aws):
    # The tests' moto server installs the fixes without StackOperations: DeleteStack stays
    # moto's, which the orchestrator's fault tests use to remove a protected stack.
    cfn = client("cloudformation", aws.endpoint, aws.region)
    cfn.create_stack(StackName="removable", TemplateBody=TOPIC, EnableTerminationProtection=True)
    cfn.delete_stack(StackName="removable")
    assert all(s["StackName"] != "removable" for s in cfn.describe_stacks()["Stacks"])
