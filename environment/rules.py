"""The cross-key rules of an environment config: defaults that depend on other keys (resolve) and
the combinations a single key's check cannot see (check_combinations): keys that only apply in
one listener mode, a strategy's own keys, the task definition's containers as a whole.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from stackswap.environment.config import (
    FARGATE_CPU,
    FARGATE_MEMORY,
    INTERNAL_TEST_CIDR,
    Config,
    Hooks,
)
from stackswap.environment.errors import ConfigError


def resolve(config: Config, raw: dict[str, Any]) -> Config:
    """Fill in what depends on other keys: both subnet lists, the ports, test_cidr, ca_bundle's
    absolute path. A key that has no meaning in the chosen mode is an error, not ignored."""
    path, network, listener = config.path, config.network, config.listener
    given = {section: set(raw.get(section, {})) for section in ("network", "listener", "deploy")}
    alb_subnets = network.alb_subnets or network.subnets
    task_subnets = network.task_subnets or network.subnets
    for key, value in (("alb_subnets", alb_subnets), ("task_subnets", task_subnets)):
        if not value:
            raise ConfigError(path, f"network.{key}",
                              "is required but missing (or network.subnets, which sets both)")
    test_cidr = network.test_cidr
    if test_cidr is None:
        if network.scheme == "internet-facing":
            raise ConfigError(path, "network.test_cidr", _TEST_CIDR_REQUIRED)
        test_cidr = INTERNAL_TEST_CIDR
    if not listener.https:
        for key in ("ssl_policy", "redirect_port"):
            if key in given["listener"]:
                raise ConfigError(path, f"listener.{key}",
                                  "only applies with listener.certificate_arns (HTTPS)")
    if listener.host_mode:
        if listener.test_host is None:
            raise ConfigError(path, "listener.test_host",
                              'is required with listener.test_mode = "host"')
        if "test_port" in given["listener"]:
            raise ConfigError(path, "listener.test_port",
                              'has no meaning with listener.test_mode = "host" (no test '
                              'listener: test traffic is told apart by listener.test_host)')
    elif "test_host" in given["listener"]:
        raise ConfigError(path, "listener.test_host",
                          'only applies with listener.test_mode = "host"')
    if "access_logs_prefix" in given["listener"] and listener.access_logs_bucket is None:
        raise ConfigError(path, "listener.access_logs_prefix",
                          "only applies with listener.access_logs_bucket")
    production_port = listener.production_port or (443 if listener.https else 80)
    test_port = None if listener.host_mode else (
        listener.test_port or (8443 if listener.https else 8080))
    ports = [("production_port", production_port), ("test_port", test_port)]
    if listener.https:
        ports.append(("redirect_port", listener.redirect_port))
    seen: dict[int, str] = {}
    for key, port in ports:
        if port is not None and port in seen:
            raise ConfigError(path, f"listener.{key}",
                              f"{port} is also listener.{seen[port]}; each listener needs its "
                              f"own port")
        if port is not None:
            seen[port] = key
    if listener.https and config.deploy.production_url is None:
        raise ConfigError(path, "deploy.production_url",
                          "is required with listener.certificate_arns: the https URL your "
                          "certificate covers (https://shop.example.com); the load balancer's "
                          "own DNS name is not on the certificate")
    _check_strategy(config, given["deploy"])
    ca_bundle = config.deploy.ca_bundle
    if ca_bundle is not None:
        bundle = Path(path).parent / ca_bundle if path != "<memory>" else Path(ca_bundle)
        if not bundle.is_file():
            raise ConfigError(path, "deploy.ca_bundle", f"no such file: {bundle}")
        ca_bundle = str(bundle.resolve())
    return replace(
        config,
        network=replace(network, alb_subnets=alb_subnets, task_subnets=task_subnets,
                        test_cidr=test_cidr),
        listener=replace(listener, production_port=production_port, test_port=test_port),
        deploy=replace(config.deploy, ca_bundle=ca_bundle, hooks=Hooks(**dict(hooks))
                       if isinstance(hooks := config.deploy.hooks, dict) else hooks))


def _check_strategy(config: Config, given: set[str]) -> None:
    """canary_percent, step_percent and step_interval are read whatever deploy.strategy says:
    `deploy --strategy` may choose a shift for one deploy."""
    if config.deploy.step_interval_seconds == 0:
        raise ConfigError(config.path, "deploy.step_interval", "must be at least 1s")


_TEST_CIDR_REQUIRED = (
    "is required with an internet-facing load balancer: who may reach the test path, as the "
    "load balancer sees them. Its clients arrive from public addresses (a laptop, a CI runner, "
    "even a host in the VPC leaving through its NAT gateway), so give their public address "
    "(e.g. \"203.0.113.10/32\"), or set network.scheme = \"internal\"")


def check_combinations(config: Config) -> None:
    health, service = config.health, config.service
    if health.timeout_seconds >= health.interval_seconds:
        raise ConfigError(config.path, "health.timeout_seconds",
                          f"must be less than health.interval_seconds ({health.interval_seconds})")
    _check_task_definition(config)
    if service.launch_type != "FARGATE":
        return
    if service.cpu not in FARGATE_MEMORY:
        raise ConfigError(config.path, "service.cpu",
                          f"must be one of {', '.join(map(str, FARGATE_CPU))} on Fargate, "
                          f"got {service.cpu}")
    memory = FARGATE_MEMORY[service.cpu]
    if service.memory not in memory:
        allowed = (f"from {memory.start} to {memory[-1]} in steps of {memory.step}"
                   if isinstance(memory, range) else f"one of {', '.join(map(str, memory))}")
        raise ConfigError(config.path, "service.memory",
                          f"must be {allowed} with service.cpu {service.cpu} on Fargate, "
                          f"got {service.memory}")


def _check_task_definition(config: Config) -> None:
    """What the task-definition keys require of each other (docs/configuration.md)."""
    path, service = config.path, config.service
    if service.task_role_arn and service.task_role_policy_arns:
        raise ConfigError(path, "service.task_role_policy_arns",
                          "cannot be combined with service.task_role_arn: either an existing "
                          "role, or managed policies for a role the stack makes")
    if service.secrets_kms_key_arn and not service.secrets:
        raise ConfigError(path, "service.secrets_kms_key_arn", "only applies with service.secrets")
    both = {name for name, _ in service.environment} & {name for name, _ in service.secrets}
    if both:
        raise ConfigError(path, f"service.secrets.{sorted(both)[0]}",
                          "is also in service.environment; a variable comes from one of them")
    if service.launch_type != "FARGATE" and service.ephemeral_storage_gib is not None:
        raise ConfigError(path, "service.ephemeral_storage_gib",
                          'only applies with service.launch_type = "FARGATE"')
    names = [service.container_name]
    for index, sidecar in enumerate(service.sidecars):
        if sidecar.name in names:
            raise ConfigError(path, f"service.sidecars[{index}].name",
                              f"{sidecar.name!r} is already a container of the task; names must "
                              f"be unique")
        names.append(sidecar.name)
        if service.container_port in sidecar.ports:
            raise ConfigError(path, f"service.sidecars[{index}].ports",
                              f"{service.container_port} is service.container_port")
    for index, sidecar in enumerate(service.sidecars):
        for name, condition in sidecar.depends_on:
            where = f"service.sidecars[{index}].depends_on.{name}"
            if name == sidecar.name or name not in names:
                raise ConfigError(path, where, f"names no other container of the task (the "
                                               f"containers: {', '.join(names)})")
            # Only a container with a health check can be HEALTHY (ECS ContainerDependency).
            if condition == "HEALTHY" and not (name == service.container_name
                                               and service.health_check):
                raise ConfigError(path, where, "HEALTHY needs a container health check (only "
                                               "the app container has one: "
                                               "service.health_check)")
    scaling = service.autoscaling
    if scaling and not scaling.min <= service.desired_count <= scaling.max:
        raise ConfigError(path, "service.desired_count",
                          f"must be within service.autoscaling min {scaling.min} and max "
                          f"{scaling.max}, got {service.desired_count}")


