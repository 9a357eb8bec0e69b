"""`stackswap status`: the live and idle colour, images, health, listeners, drift, and one
brief answer from the test path (docs/status.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from stackswap.orchestrator import probe
from stackswap.orchestrator.context import Context
from stackswap.orchestrator.observe import observe
from stackswap.orchestrator.output.log import print_result
from stackswap.orchestrator.output.status import (
    TestAnswer,
    status_document,
    status_json,
    status_text,
)
from stackswap.orchestrator.verify import smoke_target

# `status` asks the test URL once, briefly: it reports, it does not verify.
STATUS_PROBE_SECONDS = 3.0


def status(ctx: Context, as_json: bool) -> int:
    config = ctx.config
    observed = observe(ctx.aws, config)
    test = None
    if observed.alb is not None:
        target = smoke_target(config, observed.alb.outputs, production=False)
        answer = probe.get(target.url + config.smoke_path, STATUS_PROBE_SECONDS,
                           ca_bundle=config.deploy.ca_bundle, host=target.host)
        test = TestAnswer(target.describe(config.smoke_path), answer.status, answer.detail)
    document = status_document(config, observed, test, now=datetime.now(UTC))
    print_result(status_json(document) if as_json else status_text(document))
    return 0
