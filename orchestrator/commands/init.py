"""`stackswap init`: a commented config — the example, or one read from a running ECS service.

`--from-service CLUSTER/SERVICE` reads the service (DescribeServices), its task definition, its
target group (health check, deregistration delay, VPC) and that group's load balancer (subnets,
scheme), and writes what it found with a comment on where each value came from, and a comment
on everything it could not infer. stackswap does not take over that service: it creates its own
ALB stack and two service stacks next to it (docs/ci.md, "The path").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from stackswap.environment.config import MAX_DESIRED_COUNT, Service
from stackswap.environment.errors import BadInput, Refused
from stackswap.orchestrator.aws import ConnectAws, check_endpoint
from stackswap.orchestrator.model import RunningService
from stackswap.orchestrator.observe import read_running_service
from stackswap.orchestrator.output.log import print_result

SERVICE_REFERENCE = re.compile(
    r"(?P<cluster>[A-Za-z0-9_-]{1,255})/(?P<service>[A-Za-z0-9_-]{1,255})")
EXAMPLE = "stackswap.example.toml"


def example_config() -> str:
    """The commented example (stackswap.example.toml): installed under <prefix>/share/stackswap
    by setup.cfg's data_files; in a source tree, the file at its root."""
    for folder in (Path(sys.prefix) / "share" / "stackswap", Path(__file__).resolve().parents[2]):
        if (folder / EXAMPLE).is_file():
            return (folder / EXAMPLE).read_text(encoding="utf-8")
    raise BadInput(f"the example config {EXAMPLE} is not installed with stackswap")


def refuse_to_overwrite(path: str, force: bool) -> None:
    if Path(path).exists() and not force:
        raise Refused(f"{path} exists; not overwriting it (--force to replace it)")


def write_new(path: str, text: str, force: bool) -> None:
    target = Path(path)
    refuse_to_overwrite(path, force)  # again: the file may have appeared while AWS was read
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror}") from None


def parse_service(value: str) -> tuple[str, str]:
    match = SERVICE_REFERENCE.fullmatch(value)
    if not match:
        raise BadInput(f"--from-service {value!r}: expected CLUSTER/SERVICE (names, not ARNs)")
    return match["cluster"], match["service"]


def config_name(service: str) -> str:
    """A valid environment name (1–20 of a-z0-9 and single '-', starting with a letter)."""
    name = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", service.lower()))
    name = re.sub(r"^[^a-z]+", "", name)[:20].strip("-")
    return name or "app"


@dataclass
class Found:
    """What was read, as config keys (section -> key -> (TOML value, where it came from)), the
    things that could not be inferred, and facts worth a comment."""

    values: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    def set(self, section: str, key: str, value: object, source: str) -> None:
        self.values.setdefault(section, {})[key] = (json.dumps(value), source)


def infer(running: RunningService, cluster: str, service_name: str, region: str) -> Found:
    """The config keys `running` answers, where each came from, and what it does not say."""
    service, task_definition = running.service, running.task_definition
    found = Found()
    here = f"service {cluster}/{service_name}"
    found.set("", "name", config_name(service_name), f"from the service's name; stacks "
              f"{config_name(service_name)}-elb, -blue, -green")
    found.set("", "region", region, "where the service runs")
    found.set("", "cluster", cluster, "the service's cluster")

    balancers = service.get("loadBalancers") or []
    containers = task_definition.get("containerDefinitions") or []
    container, port = None, None
    if balancers and balancers[0].get("containerName"):
        container, port = balancers[0]["containerName"], balancers[0].get("containerPort")
        where = "the service's load balancer"
    else:
        with_port = [c for c in containers if c.get("portMappings")]
        if with_port:
            container = with_port[0]["name"]
            port = with_port[0]["portMappings"][0].get("containerPort")
            where = "the first container with a port mapping"
        if len(with_port) != 1:
            found.unknown.append("service.container_name and container_port: the service has "
                                 "no load balancer and the task definition has "
                                 f"{len(with_port)} containers with a port mapping")
    if container:
        found.set("service", "container_name", container, where)
    if port:
        found.set("service", "container_port", int(port), where)
    set_desired_count(found, int(service.get("desiredCount", 1)), running.scalable_target)
    launch_type = service.get("launchType")
    if launch_type in ("FARGATE", "EC2"):
        found.set("service", "launch_type", launch_type, "the service's launch type")
    else:
        uses = launch_type or "a capacity provider strategy"
        found.unknown.append(f"service.launch_type: the service uses {uses}; stackswap's "
                             f"services use FARGATE or EC2")
    for key in ("cpu", "memory"):
        if task_definition.get(key):
            found.set("service", key, int(task_definition[key]),
                      f"task definition {task_definition.get('family')}")
        else:
            found.unknown.append(f"service.{key}: the task definition sets no task-level {key}")

    definition = next((c for c in containers if c.get("name") == container),
                      containers[0] if containers else {})
    environment = sorted(e["name"] for e in definition.get("environment", []))
    secrets = sorted(s["name"] for s in definition.get("secrets", []))
    if environment or secrets or len(containers) > 1:
        found.unknown.append(
            "the container's environment and secrets: stackswap's task definition has no "
            "config key for them yet. The running one sets environment variables "
            f"{', '.join(environment) or '(none)'} and secrets {', '.join(secrets) or '(none)'}"
            + (f"; and it has {len(containers)} containers (stackswap runs one)"
               if len(containers) > 1 else ""))

    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    task_subnets = list(network.get("subnets") or [])
    if network:
        found.set("network", "assign_public_ip", network.get("assignPublicIp") == "ENABLED",
                  "the service's awsvpc configuration")
    group, balancer = running.target_group, running.load_balancer
    vpc = group.get("VpcId") if group else None
    if vpc is None:
        vpc = next(iter(set(running.subnet_vpcs.values())), None)
    if vpc:
        found.set("network", "vpc_id", vpc, "the target group" if group else "the subnets")
    else:
        found.unknown.append("network.vpc_id: the service has neither a target group nor "
                             "awsvpc subnets")
    alb_subnets = sorted(z["SubnetId"] for z in balancer.get("AvailabilityZones", [])
                         if z.get("SubnetId")) if balancer else []
    if alb_subnets and sorted(task_subnets) != alb_subnets and task_subnets:
        found.set("network", "alb_subnets", alb_subnets, "the load balancer's subnets")
        found.set("network", "task_subnets", task_subnets, "the service's subnets")
    elif alb_subnets or task_subnets:
        found.set("network", "subnets", alb_subnets or task_subnets,
                  "the load balancer's and the tasks' subnets" if alb_subnets and task_subnets
                  else "the load balancer's subnets" if alb_subnets else "the tasks' subnets")
    if not alb_subnets:
        found.unknown.append("network: the load balancer's subnets (no load balancer found): "
                             "the subnets above are the tasks'; an internet-facing ALB needs "
                             "public subnets in two availability zones")
    scheme = balancer.get("Scheme") if balancer else None
    if scheme:
        found.set("network", "scheme", scheme, f"load balancer {balancer['LoadBalancerName']}")
    found.unknown.append("network.test_cidr: who may reach the test listener cannot be read "
                         "from the service; the value below is a placeholder (a documentation "
                         "address) to replace")
    found.set("network", "test_cidr", "203.0.113.10/32" if scheme != "internal"
              else "10.0.0.0/8", "NOT INFERRED (placeholder)")
    found.unknown.append("listener: ports, certificates and the test mode are stackswap's own "
                         "ALB's (docs/configuration.md); the current load balancer's listeners "
                         "are not copied")

    if group:
        tg = f"target group {group.get('TargetGroupName')}"
        if group.get("HealthCheckPath"):
            found.set("health", "path", group["HealthCheckPath"], tg)
        for key, source in (("interval_seconds", "HealthCheckIntervalSeconds"),
                            ("timeout_seconds", "HealthCheckTimeoutSeconds"),
                            ("healthy_threshold", "HealthyThresholdCount"),
                            ("unhealthy_threshold", "UnhealthyThresholdCount")):
            if group.get(source) is not None:
                found.set("health", key, int(group[source]), tg)
        delay = group["Attributes"].get("deregistration_delay.timeout_seconds")
        if delay is not None:
            found.set("health", "deregistration_delay_seconds", int(delay), tg)
    else:
        found.unknown.append("health: the service has no target group, so no health check "
                             "path; stackswap's default /health is assumed")
    if service.get("healthCheckGracePeriodSeconds") is not None:
        found.set("health", "grace_period_seconds", int(service["healthCheckGracePeriodSeconds"]),
                  here)
    else:
        found.unknown.append("health.grace_period_seconds: the service reports no health-check "
                             "grace period; stackswap's default (30 s) applies")
    found.facts.append(f"read from {here} in {region}, task definition "
                       f"{task_definition.get('family')}:{task_definition.get('revision')}")
    return found


def set_desired_count(found: Found, desired: int, scalable_target: dict | None) -> None:
    """The service's desired count; a retired service's (0 tasks, which stackswap's 1-1000
    refuses) is its scaling target's minimum when that is at least 1, else stackswap's
    default, and the file says so."""
    if 1 <= desired <= MAX_DESIRED_COUNT:
        found.set("service", "desired_count", desired, "the service's desired count")
        return
    minimum = (scalable_target or {}).get("MinCapacity")
    if isinstance(minimum, int) and 1 <= minimum <= MAX_DESIRED_COUNT:
        count, source = minimum, "its scaling target's minimum"
    else:
        count, source = Service.desired_count, "stackswap's default"
    found.set("service", "desired_count", count,
              f"the service's desired count is {desired}: {source} instead")
    found.unknown.append(
        f"service.desired_count: the service's desired count is {desired} (retired?), which "
        f"stackswap does not take (1-{MAX_DESIRED_COUNT} tasks per colour); {count} below is "
        f"{source}: set how many tasks each colour runs")


def render(found: Found) -> str:
    """The config file: every inferred key with where it came from, then what was not."""
    lines = [
        "# stackswap environment config written by `stackswap init --from-service`.",
        *(f"# {fact}." for fact in found.facts),
        "# stackswap does not take this service over: it creates its own ALB stack and two",
        "# service stacks (blue, green) from these values. Every key: docs/configuration.md.",
        "#",
        "# NOT INFERRED — check these before the first deploy:",
        *(wrapped for line in found.unknown for wrapped in textwrap.wrap(
            line, 96, initial_indent="#   - ", subsequent_indent="#     ")),
    ]
    for section in ("", "network", "service", "health"):
        keys = found.values.get(section)
        if not keys:
            continue
        width = max(len(f"{key} = {value}") for key, (value, _) in keys.items()) + 2
        lines += ["", f"[{section}]"] if section else [""]
        lines += [f"{f'{key} = {value}':{width}}# {source}"
                  for key, (value, source) in keys.items()]
    return "\n".join(lines) + "\n"


def init(args: argparse.Namespace, connect_aws: ConnectAws) -> int:
    refuse_to_overwrite(args.config, args.force)  # before any AWS call
    if args.from_service is None:
        text, said = example_config(), "the commented example"
    else:
        cluster, service = parse_service(args.from_service)
        aws = connect_aws(args.region, args.profile, check_endpoint(args.endpoint_url))
        region = args.region or aws.region
        if not region:
            raise BadInput("init --from-service needs the service's region: --region REGION "
                           "(or AWS_REGION)")
        running = read_running_service(aws, cluster, service)
        if running is None:
            raise BadInput(f"no active ECS service {service} in cluster {cluster} ({region})")
        found = infer(running, cluster, service, region)
        text, said = render(found), (f"read from {args.from_service}; "
                                     f"{len(found.unknown)} things to check are listed at its top")
    write_new(args.config, text, args.force)
    print_result(f"wrote {args.config} ({said})")
    return 0

