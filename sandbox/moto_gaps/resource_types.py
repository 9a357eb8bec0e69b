"""The resource types moto's CloudFormation skips with a warning, given the sandbox's models
(gap 17's ListenerCertificate, gap 22's ScalableTarget and ScalingPolicy).

moto's CloudFormation looks every resource type up in one function; its fix looks in these
models first, so one patch serves both gaps.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from stackswap.sandbox.moto_gaps import listener_certificates, scaling
from stackswap.sandbox.moto_gaps._common import ORIGINALS

PLAIN_MODELS = {model.cloudformation_type(): model
                for model in (*listener_certificates.MODELS, *scaling.MODELS)}


def _resource_class_from_type(resource_type: str) -> Any:
    if resource_type in PLAIN_MODELS:
        return PLAIN_MODELS[resource_type]
    return ORIGINALS["resource_class_from_type"](resource_type)


PATCHES = {
    # gaps 17 and 22
    "resource_class_from_type": (parsing, "resource_class_from_type", _resource_class_from_type),
}
