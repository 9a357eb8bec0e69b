"""Smoke GETs of a colour through the production or the test path, as a step makes them:
retries paced by the clock, and a test path that does not admit us given up on early."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackswap.orchestrator import probe
from stackswap.orchestrator.context import (
    Context,
)
from stackswap.orchestrator.verify import (
    SmokeTarget,
    test_path_refusal,
)

if TYPE_CHECKING:
    pass


SMOKE_PAUSE_SECONDS = 1.0


# Test smoke requests not admitted in a row (no connection, or host mode's 403) before the
# verification stops: one retry for a blip, not smoke_tries timeouts.
UNADMITTED_TRIES = 2


def answer_text(answer: probe.Answer) -> str:
    return f"{answer.status or 'no answer'} {answer.detail}".strip()


def smoke(ctx: Context, target: SmokeTarget, test: bool = False) -> probe.Answer:
    """Up to deploy.smoke_tries GETs until one answers 2xx. On the test path, an answer that
    means "not admitted" (no HTTP answer at all, or host mode's 403) ends the tries after
    UNADMITTED_TRIES in a row: more tries would only wait out more timeouts."""
    config = ctx.config
    answer = probe.Answer(None, "not tried")
    url = target.url + config.smoke_path
    refused = 0
    for attempt in range(config.deploy.smoke_tries):
        if attempt:
            ctx.clock.sleep(SMOKE_PAUSE_SECONDS)
        answer = probe.get(url, ca_bundle=config.deploy.ca_bundle, host=target.host)
        if answer.ok:
            break
        ctx.log.say(f"  smoke GET {target.describe(config.smoke_path)}: {answer_text(answer)}")
        refused = refused + 1 if test and test_path_refusal(config, answer.status) else 0
        if refused >= UNADMITTED_TRIES:
            break
    return answer
