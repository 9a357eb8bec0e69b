"""Pins gaps 7 and 20 (sandbox/moto_gaps/parameters.py): with plain moto list and number parameters
are compared and shown as moto parsed them, not as sent; and shows the fix. When a pin fails after a
moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

import pytest


def same_parameters(before: dict, subnets: tuple[str, ...]) -> list[dict]:
    """Every parameter unchanged, the subnet list and the task count (a Number) sent as their
    values (as stackswap sends them)."""
    return [{"ParameterKey": p["ParameterKey"], "ParameterValue": ",".join(subnets)}
            if p["ParameterKey"] == "Subnets" else
            {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
            if p["ParameterKey"] == "DesiredCount" else
            {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
            for p in before["Parameters"]]


def test_gap_7_an_update_that_changes_nothing_runs_anyway(stacks, plain_moto):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    (before,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    body = cfn.get_template(StackName=stack)["TemplateBody"]
    cfn.update_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                     Parameters=same_parameters(before, config.network.alb_subnets))
    # Real CloudFormation refuses: ValidationError "No updates are to be performed."
    (after,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert after["StackStatus"] == "UPDATE_COMPLETE"


def test_an_update_that_changes_nothing_is_refused_with_the_fix(stacks):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    (before,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    body = cfn.get_template(StackName=stack)["TemplateBody"]
    with pytest.raises(cfn.exceptions.ClientError, match="No updates are to be performed"):
        cfn.update_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                         Parameters=same_parameters(before, config.network.alb_subnets))


def _subnets_shown(stacks) -> str:
    config, cfn, _ = stacks
    (stack,) = cfn.describe_stacks(StackName=config.alb_stack)["Stacks"]
    return next(p["ParameterValue"] for p in stack["Parameters"]
                if p["ParameterKey"] == "Subnets")


def test_gap_20_a_list_parameter_is_shown_as_a_python_list(stacks, plain_moto):
    config = stacks[0]
    # Real CloudFormation shows "subnet-a,subnet-b", as it was sent.
    assert _subnets_shown(stacks) == str(list(config.network.alb_subnets))


def test_a_list_parameter_is_shown_as_sent_with_the_fix(stacks):
    # DescribeStacks, Parameter.ParameterValue: "The input value associated with the parameter"
    # (Parameter API reference): the comma-separated string the caller sent.
    assert _subnets_shown(stacks) == ",".join(stacks[0].network.alb_subnets)
