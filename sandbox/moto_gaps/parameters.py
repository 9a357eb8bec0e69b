"""Gaps 7 and 20: stack parameters compared and shown as the caller sent them.

moto keeps a parameter as it parsed it: a list parameter (`List<AWS::EC2::Subnet::Id>`,
`CommaDelimitedList`) as a Python list, a `Number` as a number. CloudFormation compares and
shows the strings the caller sent.

Gap 7 — "No updates are to be performed" is never raised for a stack with a list parameter:
moto compares the stack's parsed values (a list) with the request's (a comma-separated string),
so an update that changes nothing runs as a real one ("2" sent again for a `Number` reads as
changed too). Fix: compare both as sent.

Gap 20 — DescribeStacks shows a list parameter as Python's repr of a list
("['subnet-a', 'subnet-b']"); CloudFormation shows the value as it was sent
("subnet-a,subnet-b"), so a comparison with the config's value (`stackswap status`, the ALB
refusal of deploy and swap) reads every list as changed. Fix: show it as sent.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from stackswap.sandbox.moto_gaps._common import as_sent


def _validate_different_update(self: Any, incoming_params: list[dict[str, Any]] | None,
                               stack_body: str, old_stack: Any) -> None:
    if incoming_params and stack_body:
        new = self._get_param_values(incoming_params, old_stack.stack_parameters)
        if old_stack.template == stack_body and \
                as_sent(old_stack.stack_parameters) == as_sent(new):
            raise ValidationError(old_stack.name, message="No updates are to be performed.")


def _parameter_list(self: Any) -> list[dict[str, Any]]:
    hidden = self.resource_map.no_echo_parameter_keys
    return [{"ParameterKey": key, "ParameterValue": "****" if key in hidden
             else as_sent({key: value})[key]}
            for key, value in self.resource_map.resolved_parameters.items()]


PATCHES = {
    # gap 7
    "validate_update": (cfn_responses.CloudFormationResponse, "_validate_different_update",
                        _validate_different_update),
    # gap 20
    "parameter_list": (cfn_models.Stack, "parameter_list", property(_parameter_list)),
}
