"""Pins gap 12 (sandbox/moto_gaps/termination_protection.py): plain moto has no
UpdateTerminationProtection; and shows the fix's. When a pin fails after a moto upgrade, moto fixed
that gap: drop its fix."""

from __future__ import annotations

import pytest
from moto.cloudformation.responses import CloudFormationResponse
from stackswap.sandbox.environment import client

from tests.conftest import TOPIC


def test_gap_12_update_termination_protection_is_not_implemented(plain_moto):
    # Over HTTP moto answers a 500 page ("The update_termination_protection action has not
    # been implemented").
    assert not hasattr(CloudFormationResponse, "update_termination_protection")


def test_update_termination_protection_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateTerminationProtection.html
    # "Updates termination protection for the specified stack." Response: StackId. The flag is
    # the Stack's EnableTerminationProtection in DescribeStacks.
    cfn = client("cloudformation", aws.endpoint, aws.region)
    stack_id = cfn.create_stack(StackName="guarded", TemplateBody=TOPIC,
                                EnableTerminationProtection=True)["StackId"]

    def protected() -> bool:
        return cfn.describe_stacks(StackName="guarded")["Stacks"][0][
            "EnableTerminationProtection"]

    assert protected() is True
    assert cfn.update_termination_protection(
        StackName="guarded", EnableTerminationProtection=False)["StackId"] == stack_id
    assert protected() is False
    cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True)
    assert protected() is True
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.update_termination_protection(StackName="nothing", EnableTerminationProtection=True)
