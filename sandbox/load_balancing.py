"""What Elastic Load Balancing decides for a connection and a request, read from moto's state at
that moment (the listener proxies, sandbox/proxy.py, call these with MOTO_LOCK held).

- Which load balancer a local proxy stands for: the newest one of its type with a listener on
  the proxy's port.
- Whether a connection gets in: one of the load balancer's security groups has an inbound rule
  for TCP covering the listener port whose CIDR contains the client's address. A load balancer
  created without security groups has its VPC's default security group, as AWS assigns it.
  Nothing else is admitted: AWS drops the packets and the client's connect times out.
- What a request gets: the listener's rules by priority, then its default action; conditions
  host-header, source-ip and path-pattern (every condition of a rule must match); the actions
  forward (one target group, or a ForwardConfig's groups chosen in proportion to their
  weights), fixed-response and redirect.

The AWS documentation each behaviour follows is quoted in tests/test_sandbox_listeners.py.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass
from typing import Any

from moto.ec2.models import ec2_backends
from stackswap.sandbox import backends

# An action that decides what a request gets (authenticate-* actions come before one of these).
TERMINAL_ACTIONS = ("forward", "fixed-response", "redirect")


def newest_load_balancer(port: int, kind: str = "application") -> tuple[Any, Any] | None:
    """(load balancer, listener) of the newest load balancer of `kind` with a listener on
    `port`; None when there is none."""
    found = []
    for backend in backends.elbv2():
        for balancer in backend.load_balancers.values():
            if (balancer.type or "application") != kind:
                continue
            for listener in balancer.listeners.values():
                if int(listener.port) == port:
                    found.append((balancer.created_time, balancer, listener))
    if not found:
        return None
    _, balancer, listener = max(found, key=lambda entry: entry[0])
    return balancer, listener


def load_balancer_by_arn(arn: str) -> Any | None:
    for backend in backends.elbv2():
        balancer = backend.load_balancers.get(arn)
        if balancer is not None:
            return balancer
    return None


# --- security groups ----------------------------------------------------------------------------

def _ec2(balancer: Any) -> Any:
    account, region = balancer.arn.split(":")[4], balancer.arn.split(":")[3]
    return dict.get(dict.get(ec2_backends, account) or {}, region)


def security_groups(balancer: Any) -> list[Any] | None:
    """The load balancer's security groups (its VPC's default one when it was given none);
    None for a Network Load Balancer without security groups, which filters nothing."""
    ec2 = _ec2(balancer)
    if ec2 is None:
        return []
    ids = list(balancer.security_groups or [])
    if not ids:
        if (balancer.type or "application") == "network":
            return None
        default = ec2.get_default_security_group(balancer.vpc_id)
        return [default] if default is not None else []
    groups = [ec2.get_security_group_from_id(group_id) for group_id in ids]
    return [group for group in groups if group is not None]


def _rule_admits(rule: Any, port: int, client: ipaddress.IPv4Address | ipaddress.IPv6Address
                 ) -> bool:
    if rule.ip_protocol not in ("tcp", "-1"):
        return False
    if rule.ip_protocol == "tcp" and not (int(rule.from_port) <= port <= int(rule.to_port)):
        return False
    cidr = rule.ip_range.get("CidrIpv6" if client.version == 6 else "CidrIp")
    if not cidr:
        return False  # a rule naming a security group or prefix list: never an outside client
    return client in ipaddress.ip_network(cidr, strict=False)


def admits(balancer: Any, port: int, client_address: str) -> bool:
    """Whether a TCP connection from `client_address` to `port` of `balancer` gets through."""
    groups = security_groups(balancer)
    if groups is None:
        return True
    client = ipaddress.ip_address(client_address)
    return any(_rule_admits(rule, port, client) for group in groups
               for rule in group.ingress_rules)


# --- listener rules -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    host: str  # the Host header, port included if the client sent one
    path: str  # the path, without the query string
    client_address: str


def _wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """ELB's wildcards: * matches 0 or more characters, ? exactly one."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def _values(condition: dict[str, Any], config: str) -> list[str]:
    return list((condition.get(config) or {}).get("Values") or condition.get("Values") or [])


def _host_name(host: str) -> str:
    if host.startswith("["):  # [IPv6]:port
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def condition_matches(condition: dict[str, Any], request: Request) -> bool:
    field = condition.get("Field")
    if field == "host-header":
        host = _host_name(request.host)
        return any(_wildcard(value, case_sensitive=False).match(host)
                   for value in _values(condition, "HostHeaderConfig"))
    if field == "path-pattern":
        return any(_wildcard(value, case_sensitive=True).match(request.path)
                   for value in _values(condition, "PathPatternConfig"))
    if field == "source-ip":
        client = ipaddress.ip_address(request.client_address)
        for cidr in _values(condition, "SourceIpConfig"):
            network = ipaddress.ip_network(cidr, strict=False)
            if network.version == client.version and client in network:
                return True
        return False
    return False  # http-header, http-request-method, query-string: not emulated, never match


def _priority(rule: Any) -> int:
    return int(rule.priority)


def actions_for(listener: Any, request: Request) -> tuple[str, list[Any]]:
    """(rule ARN or "default", its actions) for the request: the first rule by priority whose
    conditions all match, else the listener's default actions."""
    rules = sorted((rule for rule in listener.rules.values() if not rule.is_default),
                   key=_priority)
    for rule in rules:
        if all(condition_matches(condition, request) for condition in rule.conditions or []):
            return rule.arn, list(rule.actions or [])
    return "default", list(listener.default_actions or [])


def terminal_action(actions: list[Any]) -> dict[str, Any] | None:
    """The action that answers the request (actions run in their Order)."""
    data = [getattr(action, "data", action) or {} for action in actions]
    ordered = sorted(enumerate(data), key=lambda pair: (int(pair[1].get("Order") or 0), pair[0]))
    for _, action in ordered:
        if action.get("Type") in TERMINAL_ACTIONS:
            return action
    return None


def weighted_groups(action: dict[str, Any]) -> list[tuple[str, int]]:
    """(target group ARN, weight) of a forward action; a single TargetGroupArn weighs 1."""
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if groups:
        return [(group["TargetGroupArn"], int(group.get("Weight", 1) if group.get("Weight")
                                              is not None else 1)) for group in groups]
    return [(action["TargetGroupArn"], 1)] if action.get("TargetGroupArn") else []


class WeightedChoice:
    """Picks target groups in proportion to their weights (smooth weighted round-robin, per
    action, so a run of N requests splits as the weights say); a group weighing 0 gets
    nothing."""

    def __init__(self) -> None:
        self._current: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def pick(self, key: str, groups: list[tuple[str, int]]) -> str | None:
        live = [(arn, weight) for arn, weight in groups if weight > 0]
        if not live:
            return None
        if len(live) == 1:
            return live[0][0]
        with self._lock:
            total = sum(weight for _, weight in live)
            for arn, weight in live:
                self._current[(key, arn)] = self._current.get((key, arn), 0) + weight
            chosen = max(live, key=lambda group: self._current[(key, group[0])])[0]
            self._current[(key, chosen)] -= total
            return chosen


def redirect_parts(config: dict[str, Any], protocol: str, host: str, port: int, path: str,
                   query: str) -> tuple[str, str, str, str, str]:
    """(protocol, host, port, path, query) of a redirect action's Location, with ELB's
    #{protocol}, #{host}, #{port}, #{path} (no leading "/") and #{query}; unset parts keep their
    original values."""
    def fill(template: str) -> str:
        return (template.replace("#{protocol}", protocol.upper()).replace("#{host}", host)
                .replace("#{port}", str(port)).replace("#{path}", path.lstrip("/"))
                .replace("#{query}", query))

    return (fill(config.get("Protocol") or "#{protocol}").lower(),
            fill(config.get("Host") or "#{host}"), fill(config.get("Port") or "#{port}"),
            fill(config.get("Path") or "/#{path}"), fill(config.get("Query") or "#{query}"))


def alb_target(target_group_arn: str) -> tuple[Any, int] | None:
    """(Application Load Balancer, port) registered in a target group of type alb."""
    group = backends.target_group(target_group_arn)
    if group is None or group.target_type != "alb":
        return None
    for target in group.targets.values():
        balancer = load_balancer_by_arn(target["Id"])
        if balancer is not None:
            return balancer, int(target.get("Port") or group.port)
    return None
