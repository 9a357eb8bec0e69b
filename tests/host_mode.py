"""A host-mode ALB stack for the tests, written by hand: production listener, and a listener rule
on it that forwards test traffic (host header test_host, source ip TestCidr) to the idle colour —
the shape the test_mode "host" template has (environment/names.py: TestRuleArn). Created with
CloudFormation on the moto server, so stackswap reads it through DescribeStacks, DescribeListeners
and DescribeRules exactly as in an account."""

from __future__ import annotations

from pathlib import Path

from stackswap.sandbox.environment import write_config

TEMPLATE = """
Parameters:
  VpcId: {Type: String}
  Subnets: {Type: CommaDelimitedList}
  TestCidr: {Type: String}
  LiveColor: {Type: String, Default: blue}
  RollbackRelease: {Type: String, Default: none}
Conditions:
  BlueIsLive: !Equals [!Ref LiveColor, blue]
Resources:
  LoadBalancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Type: application, Subnets: !Ref Subnets}
  BlueTargetGroup:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {VpcId: !Ref VpcId, Port: 8000, Protocol: HTTP, TargetType: ip}
  GreenTargetGroup:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {VpcId: !Ref VpcId, Port: 8000, Protocol: HTTP, TargetType: ip}
  ProductionListener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref LoadBalancer
      Port: 80
      Protocol: HTTP
      DefaultActions:
        - Type: forward
          TargetGroupArn: !If [BlueIsLive, !Ref BlueTargetGroup, !Ref GreenTargetGroup]
  TestRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref ProductionListener
      Priority: 1
      Conditions:
        - Field: host-header
          HostHeaderConfig: {Values: [test.shop.example.com]}
        - Field: source-ip
          SourceIpConfig: {Values: [!Ref TestCidr]}
      Actions:
        - Type: forward
          TargetGroupArn: !If [BlueIsLive, !Ref GreenTargetGroup, !Ref BlueTargetGroup]
Outputs:
  BlueTargetGroupArn: {Value: !Ref BlueTargetGroup}
  GreenTargetGroupArn: {Value: !Ref GreenTargetGroup}
  ProductionListenerArn: {Value: !Ref ProductionListener}
  TestRuleArn: {Value: !Ref TestRule}
  LoadBalancerDnsName: {Value: !GetAtt LoadBalancer.DNSName}
"""


def create_host_mode_alb(cfn, ids: dict, name: str = "hosts", live: str = "blue") -> str:
    """The ALB stack of environment `name` (`<name>-elb`); returns the stack's name."""
    stack = f"{name}-elb"
    cfn.create_stack(StackName=stack, TemplateBody=TEMPLATE, Parameters=[
        {"ParameterKey": key, "ParameterValue": value} for key, value in (
            ("VpcId", ids["vpc_id"]), ("Subnets", ",".join(ids["subnets"])),
            ("TestCidr", "127.0.0.0/8"), ("LiveColor", live))])
    return stack


def host_mode_config(path: Path, ids: dict, name: str = "hosts", **deploy: str) -> Path:
    return write_config(path, {**ids, "name": name}, listener={
        "test_mode": '"host"', "test_host": '"test.shop.example.com"'}, deploy=deploy)
