"""Print what is happening to stderr: stack events as they arrive, and progress lines."""

from __future__ import annotations

import sys
from typing import TextIO

from orchestrator.aws import StackEvent


class Log:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def say(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def event(self, stack: str, event: StackEvent) -> None:
        when = event.timestamp.strftime("%H:%M:%S") if hasattr(event.timestamp, "strftime") \
            else ""
        reason = f"  {event.reason}" if event.reason else ""
        self.say(f"  {when} {stack} {event.logical_id} {event.status}{reason}")
