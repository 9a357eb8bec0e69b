"""The sandbox's stand-in for a team chat: a webhook that answers as Slack's incoming webhooks
do, and the HTTP endpoint the sandbox's SNS topic delivers to. It keeps what it received, for
`stackswap sandbox notifications`, the demo and the tests.

    POST /slack   Slack's incoming webhook: a JSON object with a non-empty "text" is posted
                  (200 "ok"); a body that is not JSON is 400 "invalid_payload", one without text
                  400 "no_text" (docs.slack.dev, "Sending messages using incoming webhooks").
    POST /sns     an SNS HTTP(S) subscription: the JSON envelope SNS posts, of Type
                  "Notification", with Subject and Message (Amazon SNS Developer Guide, "Parsing
                  message formats"). moto confirms HTTP subscriptions at once, so the
                  SubscriptionConfirmation that AWS sends first never comes (docs/sandbox.md).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from stackswap.sandbox.loopback import LoopbackServer, QuietHandler

SLACK_PATH = "/slack"
SNS_PATH = "/sns"


class WebhookSink(LoopbackServer):
    def __init__(self) -> None:
        sink = self

        class Handler(_Handler):
            owner = sink

        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        super().__init__(Handler, "webhook-sink")

    @property
    def webhook_url(self) -> str:
        return self.url + SLACK_PATH

    @property
    def sns_endpoint(self) -> str:
        return self.url + SNS_PATH

    def keep(self, channel: str, text: str, subject: str | None = None) -> None:
        with self.lock:
            self.received.append({"channel": channel, "subject": subject, "text": text,
                                  "received_at": time.time()})

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


class _Handler(QuietHandler):
    owner: WebhookSink

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if self.path == SLACK_PATH:
            if not isinstance(body, dict):
                self._reply(400, "invalid_payload")
            elif not isinstance(body.get("text"), str) or not body["text"].strip():
                self._reply(400, "no_text")
            else:
                self.owner.keep("webhook", body["text"])
                self._reply(200, "ok")
        elif self.path == SNS_PATH and isinstance(body, dict) \
                and body.get("Type") == "Notification":
            self.owner.keep("sns", str(body.get("Message", "")), body.get("Subject"))
            self._reply(200, "")
        else:
            self._reply(404, "no_service")

    def _reply(self, status: int, text: str) -> None:
        self.reply(status, text.encode(), "text/plain")
