"""Pins gaps 16-19, the load balancer stack's resources through CloudFormation: a Listener's
ForwardConfig (sandbox/moto_gaps/listener_actions.py), ListenerCertificate
(listener_certificates.py), a LoadBalancer's Type (load_balancer_type.py) and a TargetGroup's
Targets (target_group_targets.py); and shows the four fixes together in one stack. When a pin fails
after a moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

from stackswap.sandbox.environment import client

from tests.conftest import stack_error


def _load_balancer_resources(aws) -> dict:
    return {
        "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": aws.ids["vpc_id"]}},
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Subnets": aws.ids["subnets"]}},
    }


def test_gap_16_a_listener_with_a_forward_config_fails_the_stack(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    resources = {**_load_balancer_resources(aws), "Listener": {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": {"Ref": "Group"}, "Weight": 1}]}}]}}}
    # moto: KeyError 'TargetGroupArn' inside the call, answered as a 500 page.
    assert stack_error(cfn, "gap16", resources) is not None


def test_gap_17_listener_certificate_is_not_created(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    certificate = "arn:aws:iam::123456789012:server-certificate/gap17"
    resources = {**_load_balancer_resources(aws), "Listener": {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Group"}}]}},
        "Extra": {"Type": "AWS::ElasticLoadBalancingV2::ListenerCertificate", "Properties": {
            "ListenerArn": {"Ref": "Listener"},
            "Certificates": [{"CertificateArn": certificate}]}}}
    assert stack_error(cfn, "gap17", resources) is None
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=elbv2.describe_load_balancers()[
        "LoadBalancers"][0]["LoadBalancerArn"])["Listeners"]
    # Real CloudFormation adds it to the listener's certificates.
    assert elbv2.describe_listener_certificates(ListenerArn=listener["ListenerArn"])[
        "Certificates"] == []


def test_gap_18_a_network_load_balancer_becomes_an_application_one(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    resources = {"Nlb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
        "Type": "network", "Scheme": "internal", "Subnets": aws.ids["subnets"]}}}
    assert stack_error(cfn, "gap18", resources) is None
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert balancer["Type"] == "application"  # real: network


def test_gap_19_a_target_group_registers_none_of_its_targets(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    resources = {"Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
        "Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": aws.ids["vpc_id"],
        "Targets": [{"Id": "10.0.0.10", "Port": 8000}]}}}
    assert stack_error(cfn, "gap19", resources) is None
    (group,) = elbv2.describe_target_groups()["TargetGroups"]
    assert elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])[
        "TargetHealthDescriptions"] == []  # real: the target, registered


def test_gaps_16_to_19_fixed_the_private_nlb_and_weighted_listener_stack_is_created(aws):
    # With the sandbox's fixes (the `aws` fixture's moto server has them): the resources above
    # in one stack, as the HTTPS / private NLB templates render them.
    cfn = client("cloudformation", aws.endpoint, aws.region)
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    certificate = "arn:aws:iam::123456789012:server-certificate/extra"
    resources = {**_load_balancer_resources(aws), "Listener": {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": {"Ref": "Group"}, "Weight": 7}]}}]}},
        "Extra": {"Type": "AWS::ElasticLoadBalancingV2::ListenerCertificate", "Properties": {
            "ListenerArn": {"Ref": "Listener"},
            "Certificates": [{"CertificateArn": certificate}]}},
        "Nlb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Type": "network", "Scheme": "internal", "Subnets": aws.ids["subnets"]}},
        "AlbGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "DependsOn": "Listener",
                     "Properties": {"Port": 80, "Protocol": "TCP", "TargetType": "alb",
                                    "VpcId": aws.ids["vpc_id"],
                                    "Targets": [{"Id": {"Ref": "Alb"}, "Port": 80}]}},
        "NlbListener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Nlb"}, "Port": 80, "Protocol": "TCP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "AlbGroup"}}]}}}
    assert stack_error(cfn, "fixed", resources) is None
    balancers = {b["Type"]: b["LoadBalancerArn"]
                 for b in elbv2.describe_load_balancers()["LoadBalancers"]}
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancers["application"])["Listeners"]
    (rule,) = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert rule["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["Weight"] == 7
    assert certificate in [c["CertificateArn"] for c in elbv2.describe_listener_certificates(
        ListenerArn=listener["ListenerArn"])["Certificates"]]
    (tcp,) = elbv2.describe_listeners(LoadBalancerArn=balancers["network"])["Listeners"]
    assert tcp["Protocol"] == "TCP"
    group = tcp["DefaultActions"][0]["TargetGroupArn"]
    (target,) = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert target["Target"] == {"Id": balancers["application"], "Port": 80}
    cfn.delete_stack(StackName="fixed")
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
