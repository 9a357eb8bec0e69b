"""Gap 16: a CloudFormation Listener keeps its forward actions as given, weights included.

An `AWS::ElasticLoadBalancingV2::Listener` whose forward default action has a `ForwardConfig`
(weighted target groups, what a traffic shift sets) fails the stack with moto's KeyError (HTTP
500): moto keeps only `TargetGroupArn` of a forward action. Fix: keep forward actions as given,
as the Listener API (and moto's own CreateListener) does, so DescribeListeners shows the weights.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2 import models as elbv2_models


def _convert_and_validate_properties(self: Any, properties: dict[str, Any]) -> list[dict]:
    """A Listener's DefaultActions for moto's create/modify: forward actions as given."""
    actions = []
    for index, action in enumerate(properties["DefaultActions"]):
        if action["Type"] not in elbv2_models.ALLOWED_ACTIONS:
            raise elbv2_models.InvalidActionTypeError(action["Type"], index + 1)
        actions.append(dict(action))
    return actions


PATCHES = {
    "convert_and_validate_properties": (elbv2_models.ELBv2Backend,
                                        "convert_and_validate_properties",
                                        _convert_and_validate_properties),
}
