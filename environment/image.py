"""A container image reference, parsed by one grammar: what `--image` accepts and what the ECR
check before the lock asks about. A reference needs an explicit tag or digest: a deploy of an
implicit "latest" cannot be verified ("is the new image running?") and is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stackswap.environment.errors import BadInput

_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REFERENCE = re.compile(
    rf"(?:(?P<registry>[a-zA-Z0-9.-]+(?::\d+)?)/)?(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))")
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]: a private ECR registry.
ECR_REGISTRY = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)"
                          r"\.amazonaws\.com(?:\.cn)?")
# ECS takes an image of up to 255 characters; with a digest, the part before the '@'.
MAX_LENGTH = 255


@dataclass(frozen=True)
class Image:
    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) of a private ECR registry; None for any other registry."""
        match = ECR_REGISTRY.fullmatch(self.registry or "")
        return (match["account"], match["region"]) if match else None


def parse_image(value: str) -> Image:
    """The reference `value`, or BadInput saying what is wrong with it."""
    match = REFERENCE.fullmatch(value)
    if not match:
        hint = " (add a tag, e.g. app:v2)" if ":" not in value and "@" not in value else ""
        raise BadInput(f"not a container image with a tag or digest: {value!r}{hint}")
    name, at, _ = value.partition("@")
    if len(name) > MAX_LENGTH:
        what = "characters before the '@'" if at else "characters"
        raise BadInput(f"an image of {len(name)} {what}: ECS takes at most {MAX_LENGTH}")
    return Image(match["registry"], match["repository"], match["tag"], match["digest"])
