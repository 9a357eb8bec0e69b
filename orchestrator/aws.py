"""The only module that imports boto3: one session factory and the few typed verbs stackswap
needs, with AWS errors turned into stackswap's own.

Endpoint, region and profile: `AWS_ENDPOINT_URL` (or --endpoint-url), the config's region (or
--region), and `AWS_PROFILE` (or --profile). Retries are botocore's "standard" mode, so
throttling and 5xx answers are retried with backoff before anything here sees them.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.utils
from stackswap.environment.errors import (
    AwsUnreachable,
    BadInput,
    Refused,
    StackswapError,
    StateUnknown,
)
from stackswap.environment.image import parse_image
from stackswap.orchestrator.model import (
    COMPOSITE_ALARM,
    METRIC_ALARM,
    Alarm,
    ChangeSet,
    ResourceChange,
    Stack,
    StackEvent,
)

CREDENTIAL_CODES = {
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
    "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure",
}
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
RETRIES = {"mode": "standard", "max_attempts": 6}
# A task definition revision by ARN (arn:aws:ecs:<region>:<account>:task-definition/<family>:<n>):
# immutable. A family alone names its latest revision, which is not.
TASK_DEFINITION_REVISION = re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/"
                                      r"[A-Za-z0-9_-]+:\d+")
def make_session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    """The one boto3 session factory: explicit region/profile, else AWS_REGION/AWS_PROFILE."""
    try:
        return boto3.Session(region_name=region, profile_name=profile)
    except botocore.exceptions.ProfileNotFound:
        raise BadInput(f"AWS profile {profile!r} not found in ~/.aws/config") from None


def check_endpoint(url: str | None) -> str | None:
    """The endpoint given with --endpoint-url or AWS_ENDPOINT_URL, if it is one botocore can
    use (an http(s) URL with a valid host and port); empty means none."""
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        usable = (parts.scheme in ("http", "https") and parts.port != 0
                  and (botocore.utils.is_valid_endpoint_url(url)
                       or botocore.utils.is_valid_ipv6_endpoint_url(url)))
    except ValueError:  # a port that is not a number from 0 to 65535
        usable = False
    if not usable:
        raise BadInput(f"--endpoint-url (or AWS_ENDPOINT_URL) {url!r}: not an http(s) URL such "
                       f"as https://cloudformation.eu-west-1.amazonaws.com or "
                       f"http://127.0.0.1:4566")
    return url


def web_page(response: dict) -> str | None:
    """When an answer is an HTML page, which no AWS API sends: what it was, for the message."""
    body = response.get("body") if isinstance(response.get("body"), bytes) else b""
    media_type = response["headers"].get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/html" and not body.lstrip()[:14].lower().startswith(
            (b"<!doctype html", b"<html")):
        return None
    found = [f"HTTP {response['status_code']}", media_type or "no content type"]
    if title := re.search(rb"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL):
        found.append(repr(" ".join(title[1].decode("utf-8", "replace").split())[:80]))
    return ", ".join(found)


def client_config() -> botocore.config.Config:
    return botocore.config.Config(retries=RETRIES, connect_timeout=5, read_timeout=30,
                                  user_agent_extra="stackswap")


def request_token(action: str) -> str:
    """A ClientRequestToken: CloudFormation applies a request with a token it has seen once only,
    so botocore's retry of a request whose reply was lost cannot apply it twice."""
    return f"stackswap-{action}-{uuid.uuid4().hex[:20]}"


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Turn botocore's exceptions into stackswap errors with one readable line."""
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise BadInput("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY") from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        # One line, whatever answered: a message may be a whole response body.
        message = " ".join(error.response.get("Error", {}).get("Message", str(error)).split())
        if code in CREDENTIAL_CODES:
            raise StateUnknown(f"AWS credentials expired or invalid during {operation} "
                               f"({code}); renew them and rerun to resume") from None
        if code in DENIED_CODES:
            raise Refused(f"AWS denied {operation}: {message}") from None
        if code in {"Throttling", "ThrottlingException", "RequestLimitExceeded"} or \
                error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise AwsUnreachable(f"AWS kept failing {operation} ({code}): {message}; rerun the "
                                 f"same command to resume") from None
        raise AwsRefusal(operation, code, message) from None
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectionClosedError) as error:
        raise AwsUnreachable(f"cannot reach AWS for {operation}: {error}; rerun the same "
                             f"command to resume") from None


class AwsRefusal(Refused):
    """AWS answered a request with an error (a ValidationError and the like)."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"AWS refused {operation}: {message}")
        self.code = code
        self.aws_message = message


def is_no_update(error: StackswapError) -> bool:
    return isinstance(error, AwsRefusal) and "No updates are to be performed" in error.aws_message


def is_missing_stack(error: StackswapError) -> bool:
    return isinstance(error, AwsRefusal) and "does not exist" in error.aws_message


def forwards_of(actions: list[dict]) -> list[tuple[str, int]]:
    """The (target group ARN, weight) pairs the forward actions of a listener's default actions
    or of a rule's actions send traffic to."""
    forwards: list[tuple[str, int]] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = action.get("ForwardConfig", {}).get("TargetGroups")
        if groups:
            forwards += [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups]
        elif action.get("TargetGroupArn"):
            forwards.append((action["TargetGroupArn"], 1))
    return forwards


@dataclass
class Aws:
    """Typed verbs over boto3 clients, created lazily from one session."""

    session: boto3.Session
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _task_definitions: dict[str, dict] = field(default_factory=dict)
    _aws_answered: bool = False

    def __post_init__(self) -> None:
        self.session.events.register("before-parse", self._refuse_web_pages,
                                     unique_id="stackswap-web-page")

    def _refuse_web_pages(self, operation_model: Any, response_dict: dict, **_: Any) -> None:
        """An endpoint that answers with an HTML page is a web server (or a proxy), not AWS:
        said in one line, before botocore parses the page into an error or retries it. On the
        first answer that is bad input; after AWS has answered, the state is unknown."""
        page = web_page(response_dict)
        if page is None:
            self._aws_answered = True
            return
        where = f"the endpoint {self.endpoint_url}" if self.endpoint_url else "the AWS endpoint"
        found = f"it answered {operation_model.name} with an HTML page ({page})"
        if self._aws_answered:
            raise AwsUnreachable(f"{where} stopped answering as AWS: {found}; rerun the same "
                                 f"command to resume")
        raise BadInput(f"{where} is not an AWS API: {found}; check --endpoint-url and "
                       f"AWS_ENDPOINT_URL (or a proxy in between)")

    @classmethod
    def connect(cls, region: str | None = None, profile: str | None = None,
                endpoint_url: str | None = None) -> Aws:
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        return cls(make_session(region, profile), endpoint)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=client_config())
        return self._clients[service]

    def account_id(self) -> str:
        with translated("GetCallerIdentity"):
            return self.client("sts").get_caller_identity()["Account"]

    def caller_arn(self) -> str:
        """Who these credentials are (GetCallerIdentity needs no permission)."""
        with translated("GetCallerIdentity"):
            return self.client("sts").get_caller_identity()["Arn"]

    # --- CloudFormation --------------------------------------------------------------------

    def describe_stack(self, name: str) -> Stack | None:
        try:
            with translated(f"DescribeStacks {name}"):
                (raw,) = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        except AwsRefusal as error:
            if is_missing_stack(error):
                return None
            raise
        return Stack(
            name=raw["StackName"], status=raw["StackStatus"],
            parameters={p["ParameterKey"]: p.get("ParameterValue", "")
                        for p in raw.get("Parameters", [])},
            outputs={o["OutputKey"]: o["OutputValue"] for o in raw.get("Outputs", [])},
            reason=raw.get("StackStatusReason", ""),
            rollback_triggers=tuple(trigger["Arn"] for trigger in raw.get(
                "RollbackConfiguration", {}).get("RollbackTriggers", [])),
            monitoring_minutes=int(raw.get("RollbackConfiguration", {}).get(
                "MonitoringTimeInMinutes", 0)),
            termination_protection=bool(raw.get("EnableTerminationProtection")),
            updated=raw.get("LastUpdatedTime") or raw.get("CreationTime"),
        )

    def stack_policy(self, name: str) -> str | None:
        """The stack's policy as CloudFormation keeps it (None: the stack has none)."""
        with translated(f"GetStackPolicy {name}"):
            body = self.client("cloudformation").get_stack_policy(StackName=name)
        return body.get("StackPolicyBody") or None

    def set_stack_policy(self, name: str, body: str) -> None:
        with translated(f"SetStackPolicy {name}"):
            self.client("cloudformation").set_stack_policy(StackName=name, StackPolicyBody=body)

    def template_body(self, name: str) -> str:
        """The template the stack runs, as it was sent (GetTemplate, stage Original). botocore
        hands a JSON template back parsed; it is returned as JSON text then."""
        with translated(f"GetTemplate {name}"):
            body = self.client("cloudformation").get_template(
                StackName=name, TemplateStage="Original")["TemplateBody"]
        return body if isinstance(body, str) else json.dumps(body)

    # --- change sets (`stackswap update-alb`) -----------------------------------------------

    def create_change_set(self, name: str, body: str | None, parameters: dict[str, str | None],
                          role_arn: str | None = None, purpose: str = "update-alb") -> str:
        """An UPDATE change set of the stack with `body` (None: the stack's own template),
        named stackswap-<purpose>-<random>; a None parameter value keeps the stack's previous
        value. Returns its ARN."""
        extra: dict[str, Any] = {"RoleARN": role_arn} if role_arn else {}
        extra |= {"TemplateBody": body} if body is not None else {"UsePreviousTemplate": True}
        with translated(f"CreateChangeSet {name}"):
            return self.client("cloudformation").create_change_set(
                StackName=name, ChangeSetName=request_token(purpose),
                ChangeSetType="UPDATE", Capabilities=["CAPABILITY_IAM"], **extra,
                Parameters=[{"ParameterKey": k, "UsePreviousValue": True} if v is None
                            else {"ParameterKey": k, "ParameterValue": v}
                            for k, v in parameters.items()],
                ClientToken=request_token("change-set"))["Id"]

    def describe_change_set(self, change_set_arn: str) -> ChangeSet:
        changes: list[ResourceChange] = []
        paginator = self.client("cloudformation").get_paginator("describe_change_set")
        with translated("DescribeChangeSet"):
            for page in paginator.paginate(ChangeSetName=change_set_arn):
                for change in page.get("Changes", []):
                    raw = change.get("ResourceChange", {})
                    changes.append(ResourceChange(
                        action=raw.get("Action", ""),
                        logical_id=raw.get("LogicalResourceId", ""),
                        resource_type=raw.get("ResourceType", ""),
                        replacement=raw.get("Replacement", ""),
                        properties=tuple(sorted({
                            detail["Target"]["Name"] for detail in raw.get("Details", [])
                            if detail.get("Target", {}).get("Name")}))))
        return ChangeSet(change_set_arn, page.get("Status", ""), page.get("StatusReason", ""),
                         page.get("ExecutionStatus", ""), tuple(changes))

    def delete_change_set(self, change_set_arn: str) -> None:
        with translated("DeleteChangeSet"):
            self.client("cloudformation").delete_change_set(ChangeSetName=change_set_arn)

    def execute_change_set(self, change_set_arn: str) -> None:
        with translated("ExecuteChangeSet"):
            self.client("cloudformation").execute_change_set(
                ChangeSetName=change_set_arn, ClientRequestToken=request_token("execute"))

    def stack_events_since(self, name: str, last_seen_id: str | None) -> list[StackEvent]:
        """Events newer than last_seen_id, oldest first (all of the first page when None)."""
        new: list[StackEvent] = []
        paginator = self.client("cloudformation").get_paginator("describe_stack_events")
        with translated(f"DescribeStackEvents {name}"):
            for page in paginator.paginate(StackName=name):
                for raw in page["StackEvents"]:  # newest first
                    if raw["EventId"] == last_seen_id:
                        return new[::-1]
                    new.append(StackEvent(
                        event_id=raw["EventId"], timestamp=raw.get("Timestamp"),
                        logical_id=raw.get("LogicalResourceId", ""),
                        resource_type=raw.get("ResourceType", ""),
                        status=raw.get("ResourceStatus", ""),
                        reason=raw.get("ResourceStatusReason", "")))
                if last_seen_id is None:
                    break
        return new[::-1]

    def create_stack(self, name: str, body: str, parameters: dict[str, str],
                     tags: dict[str, str], role_arn: str | None = None,
                     stack_policy: str | None = None) -> None:
        extra = {"RoleARN": role_arn} if role_arn else {}
        if stack_policy:
            extra["StackPolicyBody"] = stack_policy
        with translated(f"CreateStack {name}"):
            self.client("cloudformation").create_stack(
                StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"], **extra,
                Parameters=[{"ParameterKey": k, "ParameterValue": v}
                            for k, v in parameters.items()],
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                EnableTerminationProtection=True,
                ClientRequestToken=request_token("create"),
            )

    def update_stack(self, name: str, parameters: dict[str, str | None],
                     body: str | None = None, rollback_triggers: tuple[Alarm, ...] = (),
                     monitoring_minutes: int = 0, role_arn: str | None = None) -> bool:
        """Update a stack; a None parameter value keeps its previous value, a None body keeps
        the previous template. False when CloudFormation says there is nothing to update.

        The RollbackConfiguration is always stated: CloudFormation reuses a stack's saved
        triggers for an update that omits it (UpdateStack API reference), so an update meant
        to have none (a rollback, a swap back) must send an empty list."""
        template = {"TemplateBody": body} if body is not None else {"UsePreviousTemplate": True}
        if role_arn:
            template["RoleARN"] = role_arn
        rollback = {"RollbackTriggers": [{"Arn": alarm.arn, "Type": alarm.kind}
                                         for alarm in rollback_triggers],
                    "MonitoringTimeInMinutes": monitoring_minutes if rollback_triggers else 0}
        try:
            with translated(f"UpdateStack {name}"):
                self.client("cloudformation").update_stack(
                    StackName=name, Capabilities=["CAPABILITY_IAM"], **template,
                    Parameters=[{"ParameterKey": k, "UsePreviousValue": True} if v is None
                                else {"ParameterKey": k, "ParameterValue": v}
                                for k, v in parameters.items()],
                    RollbackConfiguration=rollback,
                    ClientRequestToken=request_token("update"),
                )
        except AwsRefusal as error:
            if is_no_update(error):
                return False
            raise
        return True

    def cancel_update_stack(self, name: str) -> None:
        with translated(f"CancelUpdateStack {name}"):
            self.client("cloudformation").cancel_update_stack(
                StackName=name, ClientRequestToken=request_token("cancel"))

    # --- load balancer ---------------------------------------------------------------------

    def listener_forwards(self, listener_arns: list[str]) -> dict[str, list[tuple[str, int]]]:
        """For each listener (one call for all): the (target group ARN, weight) pairs its
        default action forwards to."""
        with translated("DescribeListeners"):
            listeners = self.client("elbv2").describe_listeners(
                ListenerArns=listener_arns)["Listeners"]
        return {listener["ListenerArn"]: forwards_of(listener.get("DefaultActions", []))
                for listener in listeners}

    def rule_forwards(self, rule_arns: list[str]) -> dict[str, list[tuple[str, int]]]:
        """For each listener rule (one call for all): the (target group ARN, weight) pairs its
        actions forward to (test_mode "host": the test rule)."""
        with translated("DescribeRules"):
            rules = self.client("elbv2").describe_rules(RuleArns=rule_arns)["Rules"]
        return {rule["RuleArn"]: forwards_of(rule.get("Actions", [])) for rule in rules}

    def target_states(self, target_group_arn: str) -> list[str]:
        with translated("DescribeTargetHealth"):
            descriptions = self.client("elbv2").describe_target_health(
                TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
        return [d.get("TargetHealth", {}).get("State", "unknown") for d in descriptions]

    # --- ECS -------------------------------------------------------------------------------

    def describe_service(self, cluster: str, service: str) -> dict | None:
        with translated("DescribeServices"):
            found = self.client("ecs").describe_services(cluster=cluster, services=[service])
        services = [s for s in found.get("services", []) if s.get("status") != "INACTIVE"]
        return services[0] if services else None

    def describe_task_definition(self, task_definition: str) -> dict:
        """The registered task definition, as DescribeTaskDefinition returns it. A revision named
        by its ARN is read once per run: a revision cannot be changed, only a new one
        registered: "To update a task definition, create a task definition revision" (ECS Developer
        Guide). Its status (ACTIVE, INACTIVE) may change, and is not read."""
        if task_definition in self._task_definitions:
            return self._task_definitions[task_definition]
        with translated("DescribeTaskDefinition"):
            found = self.client("ecs").describe_task_definition(
                taskDefinition=task_definition)["taskDefinition"]
        if TASK_DEFINITION_REVISION.fullmatch(task_definition):
            self._task_definitions[task_definition] = found
        return found

    def scalable_target(self, resource_id: str) -> dict | None:
        """The ECS service's Application Auto Scaling target (None: not registered)."""
        with translated("DescribeScalableTargets"):
            found = self.client("application-autoscaling").describe_scalable_targets(
                ServiceNamespace="ecs", ResourceIds=[resource_id],
                ScalableDimension="ecs:service:DesiredCount")["ScalableTargets"]
        return found[0] if found else None

    # --- a running service, read to write a config (`stackswap init --from-service`) ---------

    def target_group(self, arn: str) -> dict:
        """A target group with its attributes (as {key: value} under "Attributes")."""
        elbv2 = self.client("elbv2")
        with translated("DescribeTargetGroups"):
            (group,) = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        with translated("DescribeTargetGroupAttributes"):
            attributes = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        return {**group, "Attributes": {a["Key"]: a["Value"] for a in attributes}}

    def load_balancer(self, arn: str) -> dict:
        with translated("DescribeLoadBalancers"):
            (found,) = self.client("elbv2").describe_load_balancers(
                LoadBalancerArns=[arn])["LoadBalancers"]
        return found

    def subnet_vpcs(self, subnet_ids: list[str]) -> dict[str, str]:
        """Each subnet's VPC id."""
        with translated("DescribeSubnets"):
            subnets = self.client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"]
        return {subnet["SubnetId"]: subnet["VpcId"] for subnet in subnets}

    @property
    def region(self) -> str | None:
        return self.session.region_name

    def continue_update_rollback(self, name: str, skip: list[str],
                                 role_arn: str | None = None) -> None:
        extra = {"RoleARN": role_arn} if role_arn else {}
        with translated(f"ContinueUpdateRollback {name}"):
            self.client("cloudformation").continue_update_rollback(
                StackName=name, ResourcesToSkip=skip, **extra,
                ClientRequestToken=request_token("continue"))

    # --- ECR ---------------------------------------------------------------------------------

    def image_exists(self, image: str) -> tuple[bool | None, str]:
        """Whether an ECR image (tag or digest) exists, and why it could not be told: None for
        other registries, which cannot be asked without their own credentials, and for an ECR
        repository that lets the deployer pull but not describe (a pull-only repository policy
        grants ecr:BatchGetImage and ecr:GetDownloadUrlForLayer, not ecr:DescribeImages)."""
        try:
            reference = parse_image(image)
        except BadInput:
            return None, ""
        if reference.ecr is None:
            return None, ""
        account, region = reference.ecr
        ecr = self.session.client("ecr", region_name=region, endpoint_url=self.endpoint_url,
                                  config=client_config())
        wanted = ({"imageTag": reference.tag} if reference.tag
                  else {"imageDigest": reference.digest})
        try:
            with translated("DescribeImages"):
                ecr.describe_images(registryId=account, repositoryName=reference.repository,
                                    imageIds=[wanted])
        except AwsRefusal as error:
            if error.code in {"ImageNotFoundException", "RepositoryNotFoundException"}:
                return False, ""
            raise
        except Refused as error:  # access denied: the image may well be there
            return None, f"cannot check that {image} exists ({error.message}); going on"
        return True, ""

    # --- CloudWatch alarms -----------------------------------------------------------------

    def alarms(self, names: list[str]) -> dict[str, Alarm]:
        """The named alarms that exist, metric and composite (DescribeAlarms returns only metric
        alarms unless AlarmTypes asks for both)."""
        if not names:
            return {}
        with translated("DescribeAlarms"):
            found = self.client("cloudwatch").describe_alarms(
                AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        return {raw["AlarmName"]: Alarm(raw["AlarmName"], raw["AlarmArn"], raw["StateValue"],
                                        kind)
                for key, kind in (("MetricAlarms", METRIC_ALARM),
                                  ("CompositeAlarms", COMPOSITE_ALARM))
                for raw in found.get(key, [])}

    # --- SNS (deploy.notify.sns_topic_arn) --------------------------------------------------

    def publish(self, topic_arn: str, subject: str, message: str, group: str,
                timeout_seconds: int) -> None:
        """Publish a notification to a topic, in the topic's own region, within about
        timeout_seconds (one retry: a notification must not hold up the run). A FIFO topic needs
        a MessageGroupId and, without content-based deduplication, a MessageDeduplicationId
        (SNS API Reference, Publish)."""
        region = topic_arn.split(":")[3]
        key = f"sns:{region}"
        if key not in self._clients:
            self._clients[key] = self.session.client(
                "sns", region_name=region, endpoint_url=self.endpoint_url,
                config=botocore.config.Config(
                    retries={"mode": "standard", "max_attempts": 2},
                    connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                    user_agent_extra="stackswap"))
        fifo = {"MessageGroupId": group, "MessageDeduplicationId": uuid.uuid4().hex} \
            if topic_arn.endswith(".fifo") else {}
        with translated("Publish"):
            self._clients[key].publish(TopicArn=topic_arn, Subject=subject, Message=message,
                                       **fifo)

    # --- the deploy lock (SSM Parameter Store) ---------------------------------------------

    def read_parameter(self, name: str, version: int | None = None) -> str | None:
        """The parameter's value (of `version`: "name:version", SSM's selector); None when
        there is no such parameter or version."""
        selector = name if version is None else f"{name}:{version}"
        try:
            with translated("GetParameter"):
                return self.client("ssm").get_parameter(Name=selector)["Parameter"]["Value"]
        except AwsRefusal as error:
            if error.code in ("ParameterNotFound", "ParameterVersionNotFound"):
                return None
            raise

    def create_parameter(self, name: str, value: str) -> bool:
        """Create the parameter only if it does not exist; False when it already does."""
        try:
            with translated("PutParameter"):
                self.client("ssm").put_parameter(Name=name, Value=value, Type="String",
                                                 Overwrite=False)
        except AwsRefusal as error:
            if error.code == "ParameterAlreadyExists":
                return False
            raise
        return True

    def overwrite_parameter(self, name: str, value: str) -> int:
        """Give the parameter a new value (creating it if it is gone); the version SSM numbered
        that value (each write adds one: "Working with parameter versions in Parameter Store")."""
        with translated("PutParameter"):
            return int(self.client("ssm").put_parameter(
                Name=name, Value=value, Type="String", Overwrite=True)["Version"])

    def delete_parameter(self, name: str) -> None:
        try:
            with translated("DeleteParameter"):
                self.client("ssm").delete_parameter(Name=name)
        except AwsRefusal as error:
            if error.code != "ParameterNotFound":
                raise


# Aws.connect's shape (region, profile, endpoint): the CLI's commands take one, so that tests
# hand in an Aws whose botocore session carries their event hooks.
ConnectAws = Callable[[str | None, str | None, str | None], Aws]
