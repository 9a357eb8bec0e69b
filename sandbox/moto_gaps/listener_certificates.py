"""Gap 17: `AWS::ElasticLoadBalancingV2::ListenerCertificate` through CloudFormation.

moto does not support the type: it skips it with a warning, so an HTTPS listener keeps only its
default certificate. Fix: a CloudFormation model that adds its certificates to the listener
(AddListenerCertificates), replaces them on update and removes them on delete. moto's
CloudFormation finds it through resource_types.py.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2 import models as elbv2_models
from stackswap.sandbox.moto_gaps._common import PlainResource


class ListenerCertificate(PlainResource):
    """AWS::ElasticLoadBalancingV2::ListenerCertificate."""

    def __init__(self, backend: Any, listener_arn: str, certificates: list[dict]) -> None:
        self.backend = backend
        self.listener_arn = listener_arn
        self.certificates = [{"CertificateArn": c["CertificateArn"]} for c in certificates]

    @property
    def physical_resource_id(self) -> str:
        return self.listener_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::ListenerCertificate"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ListenerCertificate:
        properties = cloudformation_json["Properties"]
        backend = elbv2_models.elbv2_backends[account_id][region_name]
        made = cls(backend, properties["ListenerArn"], properties.get("Certificates") or [])
        backend.add_listener_certificates(made.listener_arn, made.certificates)
        return made

    def delete(self, account_id: str, region_name: str) -> None:
        # The listener may be gone already (deleted before its certificates).
        if self.listener_arn in {listener.arn for balancer in
                                 self.backend.load_balancers.values()
                                 for listener in balancer.listeners.values()}:
            self.backend.remove_listener_certificates(self.listener_arn, self.certificates)


MODELS = (ListenerCertificate,)
