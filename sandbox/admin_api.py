"""The sandbox server's own small HTTP API on loopback, used by `sandbox status`,
`sandbox fail-next-update`, `sandbox down`, the tests and the benchmark — never by the
orchestrator.

    GET  /status                      what runs: endpoint, proxies, stacks (with the
                                      wall-clock time each last finished), tasks
    GET  /notifications               what the webhook sink received: {"received": [{channel
                                      ("webhook" or "sns"), subject, text, received_at}]}
    POST /fail-next-update  {"stack": NAME}   404 when no such stack
    POST /stack-seconds {"seconds": S[, "stack": NAME]}   duration of the stack operations
                                      started from now on (of every stack, or of NAME)
    POST /metric {"service": ARN, "metric": NAME, "value": V}   what CloudWatch reports for
                                      that ECS service's metric from now on (what its target
                                      tracking policies scale on); 404 when no such service
    POST /reset                       stop all tasks, forget everything (the notifications
                                      received too), reset moto
    POST /shutdown                    stop the server process
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from stackswap.sandbox.loopback import LoopbackServer, QuietHandler


class AdminApi(LoopbackServer):
    def __init__(self, routes: dict[tuple[str, str], Callable[[dict], tuple[int, Any]]]) -> None:
        api = self

        class Handler(_Handler):
            owner = api

        self.routes = routes
        super().__init__(Handler, "admin-api")


class _Handler(QuietHandler):
    owner: AdminApi

    def _handle(self) -> None:
        route = self.owner.routes.get((self.command, self.path.split("?", 1)[0]))
        if route is None:
            self._reply(404, {"error": f"no such endpoint: {self.command} {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}") if length else {}
        except json.JSONDecodeError:
            self._reply(400, {"error": "the body must be JSON"})
            return
        status, body = route(request if isinstance(request, dict) else {})
        self._reply(status, body)

    do_GET = do_POST = _handle

    def _reply(self, status: int, body: Any) -> None:
        self.reply(status, json.dumps(body, default=str).encode(), "application/json")
