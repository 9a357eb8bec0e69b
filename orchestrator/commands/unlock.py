"""`stackswap unlock`: remove the deploy lock a run that cannot end left behind
(docs/lock-and-interrupts.md)."""

from __future__ import annotations

from stackswap.orchestrator.context import Context
from stackswap.orchestrator.lock import remove_lock
from stackswap.orchestrator.output.log import print_result


def unlock(ctx: Context, force: bool) -> int:
    holder = remove_lock(ctx.aws, ctx.config, force, ctx.clock.wall())
    print_result(f"{ctx.config.name} is not locked" if holder is None
                 else f"removed the lock of {holder.describe()}")
    return 0
