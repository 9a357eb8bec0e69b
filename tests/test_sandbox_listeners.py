"""The sandbox's load balancers as ELB runs them: security-group ingress per client address and
port, listener rules (host-header, source-ip, path-pattern; forward with weights,
fixed-response, redirect), TLS with the certificate `sandbox up --https` imports into ACM, and
the private NLB's pass-through to the ALB.

The load balancers are built with boto3 against the sandbox's moto server; the targets are ECS
services the sandbox runs (images app:blue and app:green answer "hello from app:<colour>").
One HTTPS sandbox for the module whose clients count as 203.0.113.10 (a public address, as a
real client of an internet-facing ALB). Every wait polls for its condition with a deadline.
"""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from stackswap.sandbox.environment import DEFAULT_REGION, client, provision
from stackswap.sandbox.lifecycle import admin, running_sandbox

from tests.harness import no_http_answer, wait_for

CLIENT = "203.0.113.10"
TEST_HOST = "test.shop.example.com"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("listeners"), stack_seconds=0.3,
                         health_check_seconds=0.2, drain_seconds=0.3, https=True,
                         client_address=CLIENT) as env:
        yield env


def status(sandbox) -> dict:
    return admin(sandbox, "GET", "/status")[1]


def url(sandbox, port: int) -> str:
    return status(sandbox)["listener_urls"][str(port)]


def ca_context(sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sandbox["STACKSWAP_SANDBOX_CA_BUNDLE"])


def request(address: str, sandbox=None, host: str | None = None, path: str = "/",
            context: ssl.SSLContext | None = None) -> tuple[int, str, dict[str, str]]:
    """One GET, redirects not followed; (status, body, headers)."""
    parts = urlsplit(address)
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=10, context=context or ca_context(sandbox))
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.read().decode().strip(), dict(response.getheaders())
    finally:
        connection.close()


class Account:
    """An empty sandbox account with a VPC, a cluster and two target groups, each with a
    service of one task behind it (app:blue, app:green)."""

    def __init__(self, sandbox) -> None:
        assert admin(sandbox, "POST", "/reset")[0] == 200
        self.sandbox = sandbox
        endpoint = sandbox["AWS_ENDPOINT_URL"]
        self.ids = provision(endpoint, name="lb", region=DEFAULT_REGION)
        self.elbv2 = client("elbv2", endpoint)
        self.ec2 = client("ec2", endpoint)
        self.ecs = client("ecs", endpoint)
        self.groups = {color: self._service(color) for color in ("blue", "green")}
        for color, group in self.groups.items():
            wait_for(lambda group=group: self._healthy(group), f"{color} healthy", timeout=60)

    def _service(self, color: str) -> str:
        group = self.elbv2.create_target_group(
            Name=f"lb-{color}", Protocol="HTTP", Port=8000, TargetType="ip",
            VpcId=self.ids["vpc_id"], HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        definition = self.ecs.register_task_definition(
            family=f"lb-{color}", containerDefinitions=[{
                "name": "app", "image": f"app:{color}", "memory": 128,
                "portMappings": [{"containerPort": 8000}]}])["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(
            cluster=self.ids["cluster"], serviceName=f"lb-{color}", taskDefinition=definition,
            desiredCount=1, loadBalancers=[{"targetGroupArn": group, "containerName": "app",
                                            "containerPort": 8000}])
        return group

    def _healthy(self, group: str) -> bool:
        described = self.elbv2.describe_target_health(TargetGroupArn=group)
        return any(d["TargetHealth"]["State"] == "healthy"
                   for d in described["TargetHealthDescriptions"])

    def security_group(self, *rules: tuple[int, str]) -> str:
        group = self.ec2.create_security_group(
            GroupName=f"lb-{time.monotonic_ns()}", Description="load balancer",
            VpcId=self.ids["vpc_id"])["GroupId"]
        if rules:
            self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                 "IpRanges": [{"CidrIp": cidr}]} for port, cidr in rules])
        return group

    def load_balancer(self, security_groups: list[str], kind: str = "application") -> str:
        extra = {"SecurityGroups": security_groups} if kind == "application" else {}
        return self.elbv2.create_load_balancer(
            Name=f"lb-{kind}-{time.monotonic_ns() % 10**6}", Subnets=self.ids["subnets"],
            Type=kind, **extra)["LoadBalancers"][0]["LoadBalancerArn"]

    def listener(self, balancer: str, port: int, actions: list[dict], **extra: Any) -> str:
        protocol = extra.pop("Protocol", "HTTPS" if port in (443, 8443) else "HTTP")
        if protocol == "HTTPS":
            extra.setdefault("Certificates", [{"CertificateArn": self.certificate}])
        return self.elbv2.create_listener(LoadBalancerArn=balancer, Port=port, Protocol=protocol,
                                          DefaultActions=actions, **extra)["Listeners"][0][
            "ListenerArn"]

    @property
    def certificate(self) -> str:
        return status(self.sandbox)["certificate_arn"]

    def forward(self, color: str) -> list[dict]:
        return [{"Type": "forward", "TargetGroupArn": self.groups[color]}]


@pytest.fixture
def account(sandbox) -> Account:
    return Account(sandbox)


def test_security_groups_admit_a_connection_only_from_an_allowed_cidr_on_that_port(
        sandbox, account):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-security-groups.html
    # "Configure security groups for your Classic Load Balancer": recommended inbound rule for
    # an internet-facing load balancer: "0.0.0.0/0 | TCP | listener | Allow all inbound traffic
    # on the load balancer listener port"; a security group "acts as a firewall that controls
    # the traffic allowed" — traffic no rule allows never reaches the listener (AWS drops the
    # packets and the client times out; the sandbox resets the connection at once).
    production, test = url(sandbox, 443), url(sandbox, 8443)
    assert no_http_answer(production) and no_http_answer(test)  # no load balancer yet
    group = account.security_group((443, "0.0.0.0/0"), (8443, "10.0.0.0/8"))
    balancer = account.load_balancer([group])
    account.listener(balancer, 443, account.forward("blue"))
    account.listener(balancer, 8443, account.forward("green"))
    assert request(production, sandbox)[:2] == (200, "hello from app:blue")
    # :8443 admits 10.0.0.0/8 only: a client at 203.0.113.10 gets no connection at all.
    assert no_http_answer(test)
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException,
                        ssl.SSLError)):
        urllib.request.urlopen(test, timeout=5, context=ca_context(sandbox))
    # The rules are read at connection time: opening :8443 to the client's /24 lets it in.
    account.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443,
         "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}])
    assert request(test, sandbox)[:2] == (200, "hello from app:green")
    # A rule for another port does not open this one: :80 has a listener but no rule.
    account.listener(balancer, 80, account.forward("blue"))
    assert no_http_answer(url(sandbox, 80))


def test_a_load_balancer_without_security_groups_has_the_vpcs_default_one(sandbox, account):
    # Same page: "If you use the AWS CLI or API create a load balancer in a nondefault VPC,
    # but you don't specify a security group, your load balancer is automatically associated
    # with the default security group for the VPC." Its inbound rules admit only members of
    # that group, never an outside client.
    balancer = account.load_balancer([])
    account.listener(balancer, 443, account.forward("blue"))
    assert no_http_answer(url(sandbox, 443))


def test_host_and_source_ip_rules_send_testers_to_the_idle_colour_and_refuse_others(
        sandbox, account):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SourceIpConditionConfig.html
    # "You can use this condition to route based on the IP address of the source that connects
    # to the load balancer." HostHeaderConfig (CloudFormation): "The comparison is case
    # insensitive. The following wildcard characters are supported: * (matches 0 or more
    # characters) and ? (matches exactly 1 character)." Rules are evaluated in priority order,
    # then the default rule.
    group = account.security_group((443, "0.0.0.0/0"))
    balancer = account.load_balancer([group])
    listener = account.listener(balancer, 443, account.forward("blue"))
    host = [{"Field": "host-header", "HostHeaderConfig": {"Values": [TEST_HOST]}}]
    testers = account.elbv2.create_rule(
        ListenerArn=listener, Priority=1, Actions=account.forward("green"),
        Conditions=[*host, {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
    )["Rules"][0]["RuleArn"]
    account.elbv2.create_rule(
        ListenerArn=listener, Priority=2, Conditions=host, Actions=[{
            "Type": "fixed-response", "FixedResponseConfig": {
                "StatusCode": "403", "ContentType": "text/plain",
                "MessageBody": "test traffic only from TestCidr"}}])
    account.elbv2.create_rule(
        ListenerArn=listener, Priority=3, Actions=account.forward("green"),
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.Example.ORG"]}},
                    {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/static/*"]}}])
    production = url(sandbox, 443)

    status_code, body, headers = request(production, sandbox, host=TEST_HOST)
    assert (status_code, body) == (403, "test traffic only from TestCidr")  # an outsider
    assert headers["Content-Type"] == "text/plain"
    assert request(production, sandbox, host="shop.example.com")[:2] == (
        200, "hello from app:blue")
    # The rule is read at request time: the client's network joins TestCidr.
    account.elbv2.modify_rule(RuleArn=testers, Conditions=[
        *host, {"Field": "source-ip", "SourceIpConfig": {"Values": ["203.0.113.0/24"]}}])
    assert request(production, sandbox, host="TEST.shop.example.com:443")[:2] == (
        200, "hello from app:green")
    # Wildcards, any case, and the path pattern (case-sensitive) all have to match.
    assert request(production, sandbox, host="a.b.example.org",
                   path="/static/x.css?v=1")[:2] == (200, "hello from app:green")
    assert request(production, sandbox, host="a.b.example.org", path="/Static/x")[:2] == (
        200, "hello from app:blue")
    assert request(production, sandbox, host="example.org", path="/static/x")[:2] == (
        200, "hello from app:blue")


def test_weighted_forward_splits_in_proportion_and_a_zero_weight_gets_nothing(
        sandbox, account):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ForwardActionConfig.html
    # (weighted target groups): "requests are distributed to individual target groups based on
    # their weights. For example, if two target groups have the same weight, each target group
    # receives half of the traffic."
    group = account.security_group((443, "0.0.0.0/0"))
    balancer = account.load_balancer([group])

    def weighted(blue: int, green: int) -> list[dict]:
        return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": account.groups["blue"], "Weight": blue},
            {"TargetGroupArn": account.groups["green"], "Weight": green}]}}]

    listener = account.listener(balancer, 443, weighted(3, 1))
    (rule,) = account.elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert [g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]] == [3, 1]
    production = url(sandbox, 443)
    answers = Counter(request(production, sandbox)[1] for _ in range(40))
    assert answers == {"hello from app:blue": 30, "hello from app:green": 10}
    account.elbv2.modify_listener(ListenerArn=listener, DefaultActions=weighted(0, 1))
    assert {request(production, sandbox)[1] for _ in range(10)} == {"hello from app:green"}


def test_https_presents_a_certificate_that_verifies_through_the_sandbox_ca_only(
        sandbox, account):
    # The certificate `up --https` imported: ACM has it (ImportCertificate), the listener names
    # it, and a client verifies the chain through deploy.ca_bundle.
    certificate = account.certificate
    described = client("acm", sandbox["AWS_ENDPOINT_URL"]).describe_certificate(
        CertificateArn=certificate)["Certificate"]
    assert described["Type"] == "IMPORTED"
    group = account.security_group((443, "0.0.0.0/0"))
    listener = account.listener(account.load_balancer([group]), 443, account.forward("blue"))
    assert account.elbv2.describe_listener_certificates(ListenerArn=listener)[
        "Certificates"] == [{"CertificateArn": certificate, "IsDefault": True}]
    production = sandbox["STACKSWAP_SANDBOX_PROD_URL"]
    assert production == url(sandbox, 443) and production.startswith("https://")
    with urllib.request.urlopen(production, timeout=10, context=ca_context(sandbox)) as answer:
        assert answer.read().decode().strip() == "hello from app:blue"
    localhost = production.replace("127.0.0.1", "localhost")  # the other name on it
    with urllib.request.urlopen(localhost, timeout=10, context=ca_context(sandbox)) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.URLError) as unverified:
        urllib.request.urlopen(production, timeout=10, context=ssl.create_default_context(
            cafile=None, capath="/nonexistent"))
    assert isinstance(unverified.value.reason, ssl.SSLCertVerificationError)


def test_the_redirect_listener_points_at_the_proxy_of_the_https_port(sandbox, account):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RedirectActionConfig.html
    # "A URI consists of the following components: protocol://hostname:port/path?query. ...
    # Any components that you do not modify retain their original values." StatusCode
    # "HTTP_301 | HTTP_302". Sandbox emulation: the ALB's :443 is the local proxy standing for
    # it, so the Location names that proxy's port.
    group = account.security_group((80, "0.0.0.0/0"), (443, "0.0.0.0/0"))
    balancer = account.load_balancer([group])
    account.listener(balancer, 443, account.forward("blue"))
    account.listener(balancer, 80, [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
    redirect = sandbox["STACKSWAP_SANDBOX_REDIRECT_URL"]
    assert redirect == url(sandbox, 80)
    status_code, _, headers = request(redirect, path="/shop/cart?item=3")
    production = urlsplit(sandbox["STACKSWAP_SANDBOX_PROD_URL"])
    assert status_code == 301
    assert headers["Location"] == f"https://127.0.0.1:{production.port}/shop/cart?item=3"
    target = urlsplit(headers["Location"])
    assert request(f"https://{target.netloc}", sandbox, path=f"{target.path}?{target.query}")[
        :2] == (200, "hello from app:blue")
    # urllib follows it, verifying the certificate on the way.
    with urllib.request.urlopen(redirect, timeout=10, context=ca_context(sandbox)) as answer:
        assert answer.read().decode().strip() == "hello from app:blue"


def test_the_private_nlb_passes_tls_through_to_the_alb_it_targets(sandbox, account):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/network/application-load-balancer-target.html
    # "You can create a target group with a single Application Load Balancer as the target,
    # and configure your Network Load Balancer to forward traffic to it. In this scenario, the
    # Application Load Balancer takes over the load balancing decision as soon as traffic
    # reaches it." A TCP listener does not terminate TLS: the ALB's certificate is what the
    # client sees.
    private = sandbox["STACKSWAP_SANDBOX_PRIVATE_URL"]
    assert private.startswith("https://")
    assert no_http_answer(private)  # no NLB yet
    group = account.security_group((443, "0.0.0.0/0"))
    alb = account.load_balancer([group])
    account.listener(alb, 443, account.forward("blue"))
    nlb = account.load_balancer([], kind="network")
    alb_group = account.elbv2.create_target_group(
        Name="lb-private", Protocol="TCP", Port=443, TargetType="alb",
        VpcId=account.ids["vpc_id"])["TargetGroups"][0]["TargetGroupArn"]
    account.elbv2.register_targets(TargetGroupArn=alb_group, Targets=[{"Id": alb, "Port": 443}])
    assert no_http_answer(private)  # the NLB has no listener yet
    account.listener(nlb, 443, [{"Type": "forward", "TargetGroupArn": alb_group}],
                     Protocol="TCP")
    status_code, body, headers = request(private, sandbox)
    assert (status_code, body) == (200, "hello from app:blue")
    assert "X-Sandbox-Target" in headers  # answered by the ALB proxy behind the NLB
    # The ALB still decides: its security group closing :443 closes the private path too.
    account.ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    wait_for(lambda: no_http_answer(private), "the private path closed", timeout=20.0)
