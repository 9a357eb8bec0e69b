"""The stack policy of the ALB stack: during any stack update, CloudFormation may modify any of
its resources in place — what a swap does to the forwarding listeners or rule, and what
`stackswap update-alb` does when the config changes a health check, a port or a subnet — but
never replace or delete one. A template or parameter change that would replace or remove the
load balancer, a target group, a listener, a rule or the security group fails the update instead
of touching production.

Pass it as `StackPolicyBody` when creating the ALB stack (it can still be overridden for one
update with `StackPolicyDuringUpdateBody`, on purpose, when a replacement is really wanted).
"""

from __future__ import annotations

import json


def alb_stack_policy() -> dict:
    """Allow Update:Modify on every resource; deny Update:Replace and Update:Delete on every
    resource (an explicit Deny wins over the Allow, so the policy needs no resource list and
    holds for every mode's resources)."""
    return {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "Update:Modify", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
         "Resource": "*"},
    ]}


def alb_stack_policy_body() -> str:
    """The policy as deterministic JSON, as CloudFormation's StackPolicyBody takes it."""
    return json.dumps(alb_stack_policy(), indent=2, sort_keys=True) + "\n"
