"""Create the network pieces an environment config needs (VPC, two subnets, cluster) in an AWS
endpoint — the sandbox's moto server — and write the matching config file.

Used by `stackswap sandbox up` and by the tests, so both run stackswap on the same kind of
environment a user has in AWS.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.loaders
import botocore.session

DEFAULT_REGION = "us-east-1"

_LOADER: list[botocore.loaders.Loader] = []


def session(region: str | None = DEFAULT_REGION, **credentials: str) -> boto3.Session:
    """A new boto3 session (its own events, credentials and clients) sharing this process's one
    botocore data loader: a session of its own would parse botocore's JSON models and endpoint
    data again, ~0.2 s of CPU for an EC2 client."""
    core = botocore.session.get_session()
    if not _LOADER:
        _LOADER.append(core.get_component("data_loader"))
    core.register_component("data_loader", _LOADER[0])
    made = boto3.Session(botocore_session=core, region_name=region, **credentials)
    paths = _LOADER[0].search_paths
    paths[:] = list(dict.fromkeys(paths))  # boto3 appends its data path on every session
    return made


def client(service: str, endpoint_url: str, region: str = DEFAULT_REGION):
    # Dummy credentials: moto accepts any, and real ones must never reach a local endpoint.
    return session(region, aws_access_key_id="sandbox", aws_secret_access_key="sandbox").client(
        service, endpoint_url=endpoint_url)


def provision(endpoint_url: str, name: str = "demo", region: str = DEFAULT_REGION) -> dict:
    """Create a VPC, two subnets in two zones and an ECS cluster; return their ids."""
    ec2 = client("ec2", endpoint_url, region)
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{index}.0/24",
                          AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
        for index, zone in enumerate("ab")
    ]
    client("ecs", endpoint_url, region).create_cluster(clusterName=name)
    return {"name": name, "region": region, "cluster": name, "vpc_id": vpc_id,
            "subnets": subnets}


def provision_notifications(endpoint_url: str, name: str, region: str,
                            sns_endpoint: str) -> str:
    """An SNS topic for the environment's notifications, delivering to the sandbox's webhook
    sink over HTTP as a team's subscription would; returns its ARN."""
    sns = client("sns", endpoint_url, region)
    topic_arn = sns.create_topic(Name=f"{name}-deploys")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=sns_endpoint)
    return topic_arn


def config_text(ids: dict, **overrides: dict[str, str]) -> str:
    """A stackswap config (TOML) for provisioned ids. `overrides` maps a section ("service",
    "health", "deploy", ...) to {key: TOML value} replacing or adding keys."""
    subnets = ", ".join(f'"{subnet}"' for subnet in ids["subnets"])
    sections: dict[str, dict[str, str]] = {
        "network": {"vpc_id": f'"{ids["vpc_id"]}"', "subnets": f"[{subnets}]",
                    "test_cidr": '"127.0.0.0/8"'},
        "service": {"container_name": '"app"', "container_port": "8000", "desired_count": "2"},
        "health": {"path": '"/health"'},
        "deploy": {"stack_timeout_seconds": "120", "smoke_tries": "5"},
    }
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    body = "\n\n".join(
        f"[{section}]\n" + "\n".join(f"{key} = {value}" for key, value in values.items())
        for section, values in sections.items())
    return (f'name = "{ids["name"]}"\nregion = "{ids["region"]}"\ncluster = "{ids["cluster"]}"'
            f"\n\n{body}\n")


def write_config(path: Path, ids: dict, **overrides: dict[str, str]) -> Path:
    path.write_text(config_text(ids, **overrides), encoding="utf-8")
    return path
