"""Pins each moto gap that sandbox/moto_gaps.py covers: with plain moto the gap is still there.
When one of these fails after a moto upgrade, moto fixed the gap: drop its fix."""

from __future__ import annotations

import dataclasses

import pytest
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core import DEFAULT_ACCOUNT_ID
from stackswap.generator.render import alb_stack_body
from stackswap.sandbox import moto_gaps
from stackswap.sandbox.environment import client

from tests.conftest import outputs, params
from tests.harness import forwards


@pytest.fixture
def plain_moto():
    moto_gaps.uninstall()
    yield
    moto_gaps.install()


def test_gap_1_moto_ignores_fn_if_on_parameter_only_update(stacks, plain_moto):
    config, cfn, alb = stacks
    elbv2 = client("elbv2", cfn.meta.endpoint_url, cfn.meta.region_name)
    cfn.update_stack(StackName=config.alb_stack, UsePreviousTemplate=True,
                     Parameters=[{"ParameterKey": "LiveColor", "ParameterValue": "green"}] + [
                         {"ParameterKey": k, "UsePreviousValue": True}
                         for k in ("VpcId", "Subnets", "TestCidr")])
    # Real CloudFormation would now forward :80 to green.
    assert forwards(elbv2, alb["ProductionListenerArn"]) == alb["BlueTargetGroupArn"]


def test_gap_1_and_2_service_keeps_old_task_definition(stacks, plain_moto):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, stack)["ServiceArn"]
    before = ecs.describe_services(cluster=config.cluster, services=[service_arn])
    cfn.update_stack(StackName=stack, UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v2"}] + [
                         {"ParameterKey": k, "UsePreviousValue": True}
                         for k in ("Cluster", "DesiredCount", "TargetGroupArn", "VpcId",
                                   "Subnets", "LoadBalancerSecurityGroupId")])
    after = ecs.describe_services(cluster=config.cluster, services=[service_arn])
    assert after["services"][0]["taskDefinition"] == before["services"][0]["taskDefinition"]
    assert outputs(cfn, stack)["TaskDefinitionArn"] != after["services"][0]["taskDefinition"]


def test_gap_3_replaced_task_definition_loses_its_image(aws, plain_moto):
    ecs = client("ecs", aws.endpoint, aws.region)
    cfn = client("cloudformation", aws.endpoint, aws.region)
    template = """
Parameters: {Image: {Type: String}}
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: gap3
      ContainerDefinitions: [{Name: app, Image: !Ref Image, Memory: 128}]
Outputs: {Arn: {Value: !Ref Task}}
"""
    cfn.create_stack(StackName="gap3", TemplateBody=template,
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v1"}])
    cfn.update_stack(StackName="gap3", UsePreviousTemplate=True,
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v2"}])
    task = ecs.describe_task_definition(taskDefinition=outputs(cfn, "gap3")["Arn"])
    assert "image" not in task["taskDefinition"]["containerDefinitions"][0]


def _ip_target_group(aws) -> str:
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    return elbv2.create_target_group(Name="pins", Protocol="HTTP", Port=8000, TargetType="ip",
                                     VpcId=aws.ids["vpc_id"])["TargetGroups"][0]["TargetGroupArn"]


def test_gap_4_targets_on_one_ip_overwrite_each_other(aws, plain_moto):
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    group = _ip_target_group(aws)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 40001},
                                                          {"Id": "127.0.0.1", "Port": 40002}])
    described = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    # Real ELBv2 identifies a target by Id and Port: it would list both.
    assert [d["Target"]["Port"] for d in described] == [40002]


def test_gap_5_cloudformation_service_has_no_load_balancers(plain_moto, stacks):
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    (service,) = ecs.describe_services(cluster=config.cluster, services=[service_arn])["services"]
    assert service["loadBalancers"] == []


def test_gap_6_deleted_stack_leaves_its_service_active(plain_moto, stacks):
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    cfn.delete_stack(StackName=config.service_stack("blue"))
    (service,) = ecs.describe_services(cluster=config.cluster, services=[service_arn])["services"]
    assert service["status"] == "ACTIVE"


# Gaps 8-10 are filled by the sandbox's emulators (sandbox/stack_operations.py,
# sandbox/target_health.py, sandbox/data_plane.py), which moto_gaps wires into moto.


def test_gap_8_stack_operations_complete_inside_the_call(plain_moto, stacks):
    config, cfn, _ = stacks
    (described,) = cfn.describe_stacks(StackName=config.service_stack("blue"))["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"  # real: CREATE_IN_PROGRESS for minutes


def test_gap_9_cancel_update_stack_is_not_implemented(plain_moto):
    # Over HTTP moto answers a 500 page ("The cancel_update_stack action has not been
    # implemented") that botocore cannot even parse.
    assert not hasattr(CloudFormationResponse, "cancel_update_stack")


def test_gap_10_registered_targets_are_healthy_at_once_and_services_run_no_tasks(plain_moto,
                                                                                stacks, aws):
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    group = _ip_target_group(aws)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 9}])
    (described,) = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert described["TargetHealth"]["State"] == "healthy"  # nothing listens on port 9
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert ecs.list_tasks(cluster=config.cluster)["taskArns"] == []


TOPIC = "Resources: {Topic: {Type: AWS::SNS::Topic}}"


def _metric_alarm(cloudwatch, name: str) -> str:
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]


def test_gap_11_rollback_configuration_is_dropped(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    arn = _metric_alarm(client("cloudwatch", aws.endpoint, aws.region), "gap11")
    cfn.create_stack(StackName="gap11", TemplateBody=TOPIC, RollbackConfiguration={
        "RollbackTriggers": [{"Arn": arn, "Type": "AWS::CloudWatch::Alarm"}],
        "MonitoringTimeInMinutes": 5})
    (described,) = cfn.describe_stacks(StackName="gap11")["Stacks"]
    # Real DescribeStacks shows the stack's saved RollbackConfiguration (`{}` when none).
    assert "RollbackConfiguration" not in described


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


def test_gap_13_a_protected_stack_is_deleted(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    stack_id = cfn.create_stack(StackName="gap13", TemplateBody=TOPIC,
                                EnableTerminationProtection=True)["StackId"]
    cfn.delete_stack(StackName="gap13")
    # Real CloudFormation refuses: ValidationError "Stack [gap13] cannot be deleted while
    # TerminationProtection is enabled", the stack unchanged.
    (described,) = cfn.describe_stacks(StackName=stack_id)["Stacks"]
    assert described["StackStatus"] == "DELETE_COMPLETE"


def test_gap_13_is_left_to_the_sandbox_so_the_moto_server_still_deletes(aws):
    # The tests' moto server installs the fixes without StackOperations: DeleteStack stays
    # moto's, which the orchestrator's fault tests use to remove a protected stack.
    cfn = client("cloudformation", aws.endpoint, aws.region)
    cfn.create_stack(StackName="removable", TemplateBody=TOPIC, EnableTerminationProtection=True)
    cfn.delete_stack(StackName="removable")
    assert all(s["StackName"] != "removable" for s in cfn.describe_stacks()["Stacks"])


def test_gap_14_composite_alarms_cannot_be_put_nor_evaluated(aws, plain_moto):
    # Over HTTP moto answers PutCompositeAlarm with a 500 page.
    assert not hasattr(CloudWatchResponse, "put_composite_alarm")
    cloudwatch = client("cloudwatch", aws.endpoint, aws.region)
    _metric_alarm(cloudwatch, "child")
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][aws.region]
    backend.put_metric_alarm(name="parent", namespace=None, metric_name=None,
                             comparison_operator=None, evaluation_periods=None, period=None,
                             threshold=None, statistic=None, description=None, dimensions=[],
                             alarm_actions=[], rule='ALARM("child")')
    cloudwatch.set_alarm_state(AlarmName="child", StateValue="ALARM", StateReason="pin")
    (parent,) = cloudwatch.describe_alarms(AlarmNames=["parent"],
                                           AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert parent["StateValue"] == "OK"  # real: ALARM, its rule holds


def test_composite_alarms_with_the_fix(aws):
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
    # "The composite alarm goes into ALARM state only if all conditions of the rule are met.";
    # AlarmRule: functions ALARM/OK/INSUFFICIENT_DATA("alarm-name or alarm-ARN"), "operators
    # (AND, OR and NOT) [...] parenthesis to logically group", TRUE and FALSE; "The alarms
    # specified in a composite alarm's rule expression can include metric alarms and other
    # composite alarms."
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html
    # "If you use SetAlarmState on a composite alarm, the composite alarm is not guaranteed to
    # return to its actual state. It returns to its actual state only once any of its children
    # alarms change state. It is also reevaluated if you update its configuration."
    cloudwatch = client("cloudwatch", aws.endpoint, aws.region)
    errors = _metric_alarm(cloudwatch, "shop-5xx")
    _metric_alarm(cloudwatch, "shop-latency")
    _metric_alarm(cloudwatch, "maintenance")
    cloudwatch.put_composite_alarm(
        AlarmName="shop-slo", AlarmRule=f'ALARM("{errors}") OR ALARM(shop-latency)')
    cloudwatch.put_composite_alarm(
        AlarmName="page", AlarmRule='ALARM("shop-slo") AND NOT (ALARM("maintenance") OR FALSE)')

    def states() -> dict[str, str]:
        found = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        return {a["AlarmName"]: a["StateValue"]
                for a in found["MetricAlarms"] + found["CompositeAlarms"]}

    def set_state(name: str, state: str) -> None:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    composites = cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert {a["AlarmName"]: a["AlarmRule"] for a in composites}["shop-slo"] == \
        f'ALARM("{errors}") OR ALARM(shop-latency)'
    assert states() == {"shop-5xx": "OK", "shop-latency": "OK", "maintenance": "OK",
                        "shop-slo": "OK", "page": "OK"}
    set_state("shop-5xx", "ALARM")  # by ARN in the rule
    assert (states()["shop-slo"], states()["page"]) == ("ALARM", "ALARM")
    set_state("maintenance", "ALARM")
    assert (states()["shop-slo"], states()["page"]) == ("ALARM", "OK")
    set_state("maintenance", "OK")
    set_state("shop-5xx", "OK")
    assert (states()["shop-slo"], states()["page"]) == ("OK", "OK")
    set_state("shop-slo", "ALARM")  # by hand: kept until a child changes state
    assert (states()["shop-slo"], states()["page"]) == ("ALARM", "ALARM")
    set_state("shop-latency", "INSUFFICIENT_DATA")
    assert (states()["shop-slo"], states()["page"]) == ("OK", "OK")
    cloudwatch.put_composite_alarm(AlarmName="page", AlarmRule="TRUE")  # re-evaluated when put
    assert states()["page"] == "ALARM"


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


def _update_health_check_interval(stacks, seconds: int) -> None:
    config, cfn, _ = stacks
    changed = dataclasses.replace(config, health=dataclasses.replace(
        config.health, interval_seconds=seconds))
    cfn.update_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(changed),
                     Parameters=[{"ParameterKey": key, "UsePreviousValue": True}
                                 for key in ("VpcId", "Subnets", "TestCidr", "LiveColor")])


def _intervals(stacks) -> set[int]:
    _, cfn, alb = stacks
    elbv2 = client("elbv2", cfn.meta.endpoint_url, cfn.meta.region_name)
    arns = [alb["BlueTargetGroupArn"], alb["GreenTargetGroupArn"]]
    return {group["HealthCheckIntervalSeconds"] for group in
            elbv2.describe_target_groups(TargetGroupArns=arns)["TargetGroups"]}


def test_gap_21_a_target_group_modified_by_an_update_keeps_its_properties(stacks, plain_moto):
    _update_health_check_interval(stacks, 10)
    # Real CloudFormation modifies HealthCheckIntervalSeconds in place ("Update requires: No
    # interruption", AWS::ElasticLoadBalancingV2::TargetGroup). (With gap 1's fix the listeners
    # that refer to the group are updated too, and fail on the group moto lost.)
    assert _intervals(stacks) == {5}


def test_a_target_group_is_modified_in_place_with_the_fix(stacks):
    _update_health_check_interval(stacks, 10)
    assert _intervals(stacks) == {10}


def _moto_attributes() -> dict[str, object]:
    return {name: owner.__dict__.get(attribute)
            for name, (owner, attribute, _) in moto_gaps._patches().items()}


def test_install_patches_each_attribute_once_and_uninstall_restores_moto(plain_moto):
    plain = _moto_attributes()
    moto_gaps.install()
    patched = _moto_attributes()
    assert all(patched[name] is not plain[name] for name in plain)
    moto_gaps.install(stack_operations=object(), target_health=object())  # hooks only
    assert _moto_attributes() == patched
    moto_gaps.uninstall()
    assert _moto_attributes() == plain


# --- gap 15: change sets ---------------------------------------------------------------------

QUEUE_AND_TOPIC = """
Parameters: {Name: {Type: String}}
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Ref Name}}
  Topic: {Type: AWS::SNS::Topic, Properties: {DisplayName: !Ref Name}}
Outputs: {QueueArn: {Value: !GetAtt Queue.Arn}, TopicArn: {Value: !Ref Topic}}
"""


def _change_set(cfn, kind: str, name: str, value: str) -> dict:
    cfn.create_change_set(StackName="adopted", ChangeSetName=name, ChangeSetType=kind,
                          TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name=value))
    return cfn.describe_change_set(ChangeSetName=name, StackName="adopted")


def test_gap_15_executed_create_change_set_has_no_outputs_and_update_lists_no_change(
        aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    _change_set(cfn, "CREATE", "create", "first")
    cfn.execute_change_set(ChangeSetName="create", StackName="adopted")
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    # Real CloudFormation: CREATE_COMPLETE with both outputs, and an event per resource.
    assert stack["StackStatus"] == "CREATE_COMPLETE" and "Outputs" not in stack
    events = cfn.describe_stack_events(StackName="adopted")["StackEvents"]
    assert {e["LogicalResourceId"] for e in events} == {"adopted"}
    # Real: Queue (QueueName is create-only) and Topic are modified by a parameter change.
    assert _change_set(cfn, "UPDATE", "rename", "second")["Changes"] == []


def test_change_sets_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    # "If you create a change set for a stack that doesn't exist, the change set shows all of
    # the resources that CloudFormation will create. If you create a change set for an existing
    # stack, CloudFormation compares the stack's information with the information that you
    # submit in the change set and lists the differences."
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html
    # "if the RequiresRecreation field is Always and the Evaluation field is Static,
    # Replacement is True." (AWS::SQS::Queue's QueueName is a createOnlyProperty in its schema;
    # AWS::SNS::Topic's DisplayName is not.)
    cfn = client("cloudformation", aws.endpoint, aws.region)
    created = _change_set(cfn, "CREATE", "create", "first")
    assert (created["Status"], created["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in created["Changes"]] == [("Add", "Queue"), ("Add", "Topic")]
    assert cfn.describe_stacks(StackName="adopted")["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    cfn.execute_change_set(ChangeSetName="create", StackName="adopted")
    assert set(outputs(cfn, "adopted")) == {"QueueArn", "TopicArn"}
    assert {e["LogicalResourceId"] for e in cfn.describe_stack_events(
        StackName="adopted")["StackEvents"]} >= {"adopted"}

    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in _change_set(cfn, "UPDATE", "rename", "second")["Changes"]}
    assert {name: c["Replacement"] for name, c in changes.items()} == {
        "Queue": "True", "Topic": "False"}
    (detail,) = changes["Queue"]["Details"]
    assert detail == {"Target": {"Attribute": "Properties", "Name": "QueueName",
                                 "RequiresRecreation": "Always"},
                      "Evaluation": "Static", "ChangeSource": "ParameterReference",
                      "CausingEntity": "Name"}
    # Nothing differs: the change set FAILED with the reason `aws cloudformation deploy` reads.
    same = _change_set(cfn, "UPDATE", "same", "first")
    assert (same["Status"], same["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert same["StatusReason"].startswith("The submitted information didn't contain changes")
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
    # "When you execute a change set, CloudFormation deletes all other change sets associated
    # with the stack because they aren't valid for the updated stack."
    cfn.execute_change_set(ChangeSetName="rename", StackName="adopted")
    assert [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="adopted")[
        "Summaries"]] == ["rename"]
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Parameters"] == params(Name="second")
    with pytest.raises(cfn.exceptions.ClientError, match="InvalidChangeSetStatus"):
        cfn.execute_change_set(ChangeSetName="rename", StackName="adopted")
    cfn.delete_change_set(ChangeSetName="rename", StackName="adopted")
    with pytest.raises(cfn.exceptions.ClientError, match="ChangeSetNotFound"):
        cfn.describe_change_set(ChangeSetName="rename", StackName="adopted")


def _create_change_sets(cfn, *names: str) -> list[dict]:
    """A CREATE change set named (and with the Name parameter) each of `names` for "adopted"."""
    return [cfn.create_change_set(StackName="adopted", ChangeSetName=name, ChangeSetType="CREATE",
                                  TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name=name))
            for name in names]


def test_gap_15_a_second_create_change_set_makes_moto_a_second_stack(aws, plain_moto):
    first, second = _create_change_sets(client("cloudformation", aws.endpoint, aws.region),
                                        "one", "two")
    # Real CloudFormation: one stack, both change sets on it.
    assert first["StackId"] != second["StackId"]


def test_create_change_sets_for_a_stack_in_review_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    # ChangeSetType: "If you create a change set for a new stack, CloudFormation creates a stack
    # with a unique stack ID, but no template or resources. The stack will be in the
    # REVIEW_IN_PROGRESS state until you execute the change set. [...] You can't use [...] the
    # CREATE type to create a change set for an existing stack." Such a stack is not an existing
    # one: "CloudFormation considers a stack ID with no template or resources to be a stack that
    # does not exist" (aws-cdk a52b3e3, #7731, why `cdk deploy` sends CREATE for it).
    cfn = client("cloudformation", aws.endpoint, aws.region)
    first, second = _create_change_sets(cfn, "one", "two")
    assert first["StackId"] == second["StackId"]
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in cfn.describe_change_set(ChangeSetName="two", StackName="adopted")[
                "Changes"]] == [("Add", "Queue"), ("Add", "Topic")]
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteChangeSet.html
    # "Deletes the specified change set." Nothing about the stack: it stays REVIEW_IN_PROGRESS
    # ("until you execute the change set", above) even once its last change set is gone.
    cfn.delete_change_set(ChangeSetName="one", StackName="adopted")
    cfn.delete_change_set(ChangeSetName="two", StackName="adopted")
    assert cfn.list_change_sets(StackName="adopted")["Summaries"] == []
    assert cfn.describe_stacks(StackName="adopted")["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    (third,) = _create_change_sets(cfn, "three")
    assert third["StackId"] == first["StackId"]
    cfn.execute_change_set(ChangeSetName="three", StackName="adopted")
    (stack,) = cfn.describe_stacks(StackName="adopted")["Stacks"]
    assert (stack["StackId"], stack["StackStatus"]) == (first["StackId"], "CREATE_COMPLETE")
    assert stack["Parameters"] == params(Name="three")
    # Created: now an existing stack, which CREATE refuses.
    with pytest.raises(cfn.exceptions.AlreadyExistsException):
        cfn.create_change_set(StackName="adopted", ChangeSetName="four", ChangeSetType="CREATE",
                              TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name="four"))


def test_list_change_sets_lists_the_stacks_own_as_describe_does_with_the_fix(aws):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListChangeSets.html
    # "Returns the ID and status of each active change set for a stack." Summaries: "the ID and
    # status of each change set for the specified stack."
    cfn = client("cloudformation", aws.endpoint, aws.region)
    _change_set(cfn, "CREATE", "create", "first")
    cfn.create_change_set(StackName="other", ChangeSetName="elsewhere", ChangeSetType="CREATE",
                          TemplateBody=QUEUE_AND_TOPIC, Parameters=params(Name="other"))
    (summary,) = cfn.list_change_sets(StackName="adopted")["Summaries"]
    described = cfn.describe_change_set(ChangeSetName="create", StackName="adopted")
    fields = ("StackId", "StackName", "ChangeSetId", "ChangeSetName", "ExecutionStatus", "Status")
    assert {k: summary[k] for k in fields} == {k: described[k] for k in fields}
    assert (summary["Status"], summary["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    by_id = cfn.list_change_sets(StackName=described["StackId"])["Summaries"]
    assert [s["ChangeSetName"] for s in by_id] == ["create"]


# Gaps 16-19: the load balancer stack's resources through CloudFormation.

def _stack_error(cfn, name: str, resources: dict) -> str | None:
    """Create a stack; the error moto answers (None when it is created)."""
    import json

    try:
        cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    except Exception as error:  # moto's 500 page is not even a ClientError
        return type(error).__name__
    return None


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
    assert _stack_error(cfn, "gap16", resources) is not None


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
    assert _stack_error(cfn, "gap17", resources) is None
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
    assert _stack_error(cfn, "gap18", resources) is None
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert balancer["Type"] == "application"  # real: network


def test_gap_19_a_target_group_registers_none_of_its_targets(aws, plain_moto):
    cfn = client("cloudformation", aws.endpoint, aws.region)
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    resources = {"Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
        "Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": aws.ids["vpc_id"],
        "Targets": [{"Id": "10.0.0.10", "Port": 8000}]}}}
    assert _stack_error(cfn, "gap19", resources) is None
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
    assert _stack_error(cfn, "fixed", resources) is None
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


# Gap 22: Application Auto Scaling through CloudFormation.

def _scaling_resources(cluster: str, service_arn: str, minimum: int = 2) -> dict:
    return {
        "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": f"service/{cluster}/{service_arn.rsplit('/', 1)[1]}",
            "MinCapacity": minimum, "MaxCapacity": 6}},
        "Cpu": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": "Target"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 60.0, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}},
    }


def test_gap_22_scalable_targets_and_policies_are_not_created(stacks, plain_moto):
    config, cfn, _ = stacks
    service = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    scaling = client("application-autoscaling", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert _stack_error(cfn, "gap22", _scaling_resources(config.cluster, service)) is None
    # Real CloudFormation registers the target and puts the policy.
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def test_scalable_targets_and_policies_with_the_fix(stacks):
    import json

    config, cfn, _ = stacks
    service = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    scaling = client("application-autoscaling", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert _stack_error(cfn, "fixed", _scaling_resources(config.cluster, service)) is None
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert policy["PolicyName"] == "cpu" and policy["ResourceId"] == target["ResourceId"]
    # An update of MinCapacity updates the target in place (RegisterScalableTarget).
    cfn.update_stack(StackName="fixed", TemplateBody=json.dumps(
        {"Resources": _scaling_resources(config.cluster, service, minimum=4)}))
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert target["MinCapacity"] == 4
    cfn.delete_stack(StackName="fixed")
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def _scaling_media_type(aws) -> str:
    scaling = client("application-autoscaling", aws.endpoint, aws.region)
    answer = scaling.describe_scalable_targets(ServiceNamespace="ecs")
    return answer["ResponseMetadata"]["HTTPHeaders"]["content-type"].split(";")[0]


def test_gap_23_application_auto_scaling_answers_as_a_web_page(aws, plain_moto):
    assert _scaling_media_type(aws) == "text/html"  # real: application/x-amz-json-1.1


def test_application_auto_scaling_answers_as_json_with_the_fix(aws):
    assert _scaling_media_type(aws) == "application/x-amz-json-1.1"


def _task_platform(aws) -> dict:
    import json

    cfn = client("cloudformation", aws.endpoint, aws.region)
    ecs = client("ecs", aws.endpoint, aws.region)
    cfn.create_stack(StackName="gap24", TemplateBody=json.dumps({"Resources": {"Task": {
        "Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "gap24", "Cpu": "256", "Memory": "512", "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"],
            "TaskRoleArn": "arn:aws:iam::123456789012:role/task",
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "EphemeralStorage": {"SizeInGiB": 40},
            "ContainerDefinitions": [{"Name": "app", "Image": "app:v1"}]}}}}))
    task = ecs.describe_task_definition(taskDefinition="gap24")["taskDefinition"]
    return {key: task.get(key) for key in ("runtimePlatform", "ephemeralStorage", "taskRoleArn",
                                           "cpu")}


def test_gap_24_task_definition_loses_its_task_level_properties(aws, plain_moto):
    assert _task_platform(aws) == {"runtimePlatform": None, "ephemeralStorage": None,
                                   "taskRoleArn": None, "cpu": None}


def test_task_definition_keeps_them_with_the_fix(aws):
    assert _task_platform(aws) == {
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 40},
        "taskRoleArn": "arn:aws:iam::123456789012:role/task", "cpu": "256"}
