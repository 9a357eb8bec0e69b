"""Smoke requests: plain HTTP GETs against a listener, as a user's browser would send them."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def get(url: str, timeout: float = 5.0) -> Answer:
    request = urllib.request.Request(url, headers={"User-Agent": "stackswap-smoke"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.read(200).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, str(error.reason))
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return Answer(None, str(reason))
