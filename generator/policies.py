"""The stack policy of the ALB stack: during any stack update, CloudFormation may modify the two
listeners in place — which is all a swap does — and nothing else. A template or parameter change
that would replace or delete a resource (the load balancer, a target group, a listener, the
security group), or modify any other resource, fails the update instead of touching production.

Pass it as `StackPolicyBody` when creating the ALB stack (it can be overridden for one update with
`StackPolicyDuringUpdateBody`, on purpose, when the ALB itself must change).
"""

from __future__ import annotations

import json

SWAPPED_RESOURCES = ("ProductionListener", "TestListener")


def alb_stack_policy() -> dict:
    """Allow Update:Modify on the two listeners only; deny every other update action on every
    resource, and Update:Replace and Update:Delete everywhere (an explicit Deny wins over the
    Allow, so not even a listener may be replaced or deleted)."""
    listeners = [f"LogicalResourceId/{name}" for name in SWAPPED_RESOURCES]
    return {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "Update:Modify", "Resource": listeners},
        {"Effect": "Deny", "Principal": "*", "Action": "Update:Modify",
         "NotResource": listeners},
        {"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
         "Resource": "*"},
    ]}


def alb_stack_policy_body() -> str:
    """The policy as deterministic JSON, as CloudFormation's StackPolicyBody takes it."""
    return json.dumps(alb_stack_policy(), indent=2, sort_keys=True) + "\n"
