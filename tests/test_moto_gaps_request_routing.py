"""Pins gap 25 (sandbox/moto_gaps/request_routing.py): plain moto lists its package directory for
every request it routes; and shows the fix's. When the pin fails after a moto upgrade, moto
fixed that gap: drop its fix."""

from __future__ import annotations

import os

from moto import backends
from stackswap.sandbox.environment import client

PACKAGE = os.path.dirname(backends.__file__)


def _listings_of_three_requests(aws, monkeypatch) -> int:
    """How often moto's package directory is listed while the server answers three requests."""
    cfn = client("cloudformation", aws.endpoint, aws.region)
    cfn.describe_stacks()  # botocore's loader lists its search paths once: not counted
    seen: list[str] = []
    original = os.listdir

    def listdir(path=".", *args):
        if os.fspath(path) == PACKAGE:
            seen.append(path)
        return original(path, *args)
    monkeypatch.setattr(os, "listdir", listdir)
    for _ in range(3):
        cfn.describe_stacks()
    return len(seen)


def test_gap_25_every_request_lists_the_package_directory(aws, plain_moto, monkeypatch):
    assert _listings_of_three_requests(aws, monkeypatch) >= 3


def test_requests_are_routed_without_listing_the_directory(aws, monkeypatch):
    assert _listings_of_three_requests(aws, monkeypatch) == 0
    # ...to the same services as moto's own listing, in its order
    assert list(backends.list_of_moto_modules()) == sorted(
        name for name in os.listdir(PACKAGE)
        if os.path.isdir(os.path.join(PACKAGE, name)) and not name.startswith("__"))
