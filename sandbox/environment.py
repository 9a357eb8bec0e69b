"""Create the network pieces an environment config needs (VPC, two subnets, cluster) in an AWS
endpoint — the sandbox's moto server — and write the matching config file.

Used by `stackswap sandbox up` and by the tests, so both run stackswap on the same kind of
environment a user has in AWS.
"""

from __future__ import annotations

from pathlib import Path

import boto3

DEFAULT_REGION = "us-east-1"


def client(service: str, endpoint_url: str, region: str = DEFAULT_REGION):
    # Dummy credentials: moto accepts any, and real ones must never reach a local endpoint.
    return boto3.session.Session(
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=region,
    ).client(service, endpoint_url=endpoint_url)


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
