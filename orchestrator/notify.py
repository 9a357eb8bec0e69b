"""Tell the team (deploy.notify): a chat webhook taking Slack's {"text": ...} body and/or an SNS
topic hear of a run's start, each change of production's traffic, and its end (success, failure,
rollback), each with a one-line summary and the command that undoes it.

A notification that cannot be sent is one warning line and a `notification` event, never a
failed run: the deploy matters more than the message about it. A signal still ends the run
while a notification is on its way (Interrupted is not caught here)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stackswap.environment.checks import webhook_url_problem
from stackswap.environment.errors import StackswapError, SwapReverted
from stackswap.orchestrator.context import Context
from stackswap.orchestrator.model import Observed
from stackswap.orchestrator.output.notification import notification, production_text
from stackswap.orchestrator.output.run_report import traffic_document, undo_command
from stackswap.orchestrator.output.text import production_weights

# The commands that change something, and so tell the team (never with --dry-run).
NOTIFYING = ("deploy", "swap", "rollback", "retire", "recover", "update-alb")
# What each stage says of the run ("deploy of app:v2 started").
VERBS = {"start": "started", "step": "moved traffic", "success": "succeeded",
         "rollback": "rolled back", "failure": "failed"}


@dataclass(frozen=True)
class Channel:
    name: str  # what a warning calls it: never the webhook's URL, which is a secret
    send: Callable[[str, str], None]  # (subject, text); raises what failed


def post_webhook(url: str, text: str, timeout_seconds: int) -> None:
    """POST Slack's message body; any answer but 2xx is a failure (Slack answers 200 "ok", or
    400 "invalid_payload" / "no_text")."""
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "stackswap"})
    with urllib.request.urlopen(request, timeout=timeout_seconds) as answer:
        answer.read()


def channels(ctx: Context, environ: Mapping[str, str]) -> list[Channel]:
    """The configured channels. A webhook named by an unset or malformed environment variable
    is said once, here, and left out of this run."""
    notify = ctx.config.deploy.notify
    found: list[Channel] = []
    url = notify.webhook_url
    if notify.webhook_url_env is not None:
        url = environ.get(notify.webhook_url_env) or None
        problem = "is not set" if url is None else webhook_url_problem(url)
        if problem:
            ctx.log.say(f"warning: ${notify.webhook_url_env} (deploy.notify.webhook_url_env) "
                        f"{problem}: no webhook notifications this run")
            url = None
    if url is not None:
        host = urllib.parse.urlsplit(url).hostname
        found.append(Channel(f"the webhook at {host}", lambda subject, text: post_webhook(
            url, text, notify.timeout_seconds)))
    if (topic := notify.sns_topic_arn) is not None:
        found.append(Channel(f"the SNS topic {topic.rsplit(':', 1)[1]}",
                             lambda subject, text: ctx.aws.publish(
                                 topic, subject, text, ctx.config.name, notify.timeout_seconds)))
    return found


def failure_text(error: Exception) -> str:
    if isinstance(error, StackswapError):
        return error.message
    if isinstance(error, urllib.error.HTTPError):  # with the body's start: Slack's "no_text"
        said = " ".join(error.read(200).decode("utf-8", "replace").split())
        return f"HTTP {error.code} {error.reason}" + (f": {said}" if said else "")
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, OSError | ValueError):
        return str(error) or type(error).__name__
    return f"internal error: {type(error).__name__}: {error}"


class Notifier:
    """A sink of the run's log: the lock taken is the start, each `traffic` event that moved
    production a step; `finish` sends the end."""

    def __init__(self, ctx: Context, command: str, title: str, ci_run: str | None,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.ctx, self.command, self.title, self.ci_run = ctx, command, title, ci_run
        self.channels = channels(ctx, environ)
        self.started = False
        self.weights: dict[str, int] | None = None
        self.error: str | None = None

    def emit(self, event: dict) -> None:
        self.guarded(self.notice, event)

    def finish(self, code: int, after: Observed | None) -> None:
        """The end of the run. A run that changed nothing and succeeded says nothing."""
        self.guarded(self.end, code, after)

    def guarded(self, function: Callable[..., None], *args: object) -> None:
        """A notification never fails the run, not even through a bug of its own."""
        try:
            function(*args)
        except Exception as error:
            self.ctx.log.notification("the team", "run", failure_text(error))

    def notice(self, event: dict) -> None:
        kind = event["type"]
        # The start: the lock taken, as every run that changes something takes it, or the
        # one change made without it: cancelling a swap in its monitoring window (the run
        # that holds the lock is the one whose swap it cancels). Checks alone say nothing.
        if ((kind == "lock" and event["state"] == "taken")
                or (kind == "phase_start" and event["step"] == "CancelSwap")) \
                and not self.started and self.ctx.first_observed:
            self.started = True
            first = self.ctx.first_observed
            self.weights = production_weights(first)
            self.send("start", production_text(first), "nothing has changed yet")
        elif kind == "traffic" and self.started and event["production"] != self.weights:
            self.weights = event["production"]
            self.send("step", production_text(self.ctx.observed),
                      self.undo(self.ctx.observed))
        elif kind == "error":
            self.error = event["message"]

    def has_an_end(self, code: int) -> bool:
        """Whether the run's end is told: not for one that changed nothing and succeeded (so
        what it left need not be read for it)."""
        return code != 0 or self.started

    def end(self, code: int, after: Observed | None) -> None:
        if not self.has_an_end(code):
            return
        verb = None
        if code == 0:
            # A `stackswap rollback` that worked is a rollback the team hears of as such.
            stage = "rollback" if self.command == "rollback" else "success"
            verb = VERBS["success"]
            detail = production_text(after) if after is not None else None
        else:
            stage = "rollback" if code == SwapReverted.exit_code else "failure"
            detail = f"exit {code}: {self.error}" if self.error else f"exit {code}"
        self.send(stage, detail, self.undo(after), verb)

    def undo(self, now: Observed | None) -> str:
        first = self.ctx.first_observed
        return undo_command({
            "subcommand": self.command, "config": self.ctx.config.path,
            "before": traffic_document(first) if first else None,
            "after": traffic_document(now) if now else None})

    def send(self, stage: str, detail: str | None, undo: str, verb: str | None = None) -> None:
        subject, text = notification(self.ctx.config.name, self.title, verb or VERBS[stage],
                                     detail, undo, self.ci_run)
        for channel in self.channels:
            try:
                channel.send(subject, text)
            except Exception as error:  # a notification never fails the run, not even a bug
                self.ctx.log.notification(channel.name, stage, failure_text(error))
            else:
                self.ctx.log.notification(channel.name, stage, None)
