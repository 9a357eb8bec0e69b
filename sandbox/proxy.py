"""The load balancer's two listeners as local HTTP reverse proxies.

Each proxy stands for one listener port of the ALB (80 production, 8080 test). For every request
it reads, at that moment, which target group moto's listener on that port forwards to, and sends
the request to one of that group's healthy targets (round-robin; 503 when none is healthy). So
a swap in CloudFormation is a swap of real traffic, and since draining targets keep serving
what they already accepted, a request loop sees no failure during a swap.

With several load balancers in the sandbox, the newest one with a listener on the port wins.
"""

from __future__ import annotations

import http.client
import itertools
from http.server import BaseHTTPRequestHandler
from typing import Any

from sandbox import backends
from sandbox.loopback import LoopbackServer
from sandbox.target_health import TargetHealthBook

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
              "te", "trailer", "proxy-authenticate", "proxy-authorization"}
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
UPSTREAM_TIMEOUT_SECONDS = 30


def _forward_group(action: Any) -> str | None:
    data = getattr(action, "data", {}) or {}
    if data.get("Type") != "forward":
        return None
    if data.get("TargetGroupArn"):
        return data["TargetGroupArn"]
    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    return groups[0].get("TargetGroupArn") if groups else None


def listener_target_group(port: int) -> str | None:
    """The target group the newest load balancer's listener on `port` forwards to (lock held)."""
    found: list[tuple[str, Any]] = []
    for backend in backends.elbv2():
        for balancer in backend.load_balancers.values():
            for listener in balancer.listeners.values():
                if int(listener.port) == port:
                    found.append((balancer.created_time, listener))
    if not found:
        return None
    _, listener = max(found, key=lambda pair: pair[0])
    actions = listener.default_actions or []
    return _forward_group(actions[0]) if actions else None


class ListenerProxy(LoopbackServer):
    def __init__(self, listener_port: int, book: TargetHealthBook) -> None:
        self.listener_port = listener_port
        self.book = book
        self._turn = itertools.count()
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        super().__init__(Handler, f"listener :{listener_port}")

    def targets(self) -> list[tuple[str, int]]:
        """Healthy targets behind the listener now, in round-robin order for one request."""
        with backends.MOTO_LOCK:
            group = listener_target_group(self.listener_port)
            healthy = sorted(self.book.healthy(group)) if group else []
        if not healthy:
            return []
        start = next(self._turn) % len(healthy)
        rotated = healthy[start:] + healthy[:start]
        return [(ip, port) for _, ip, port in rotated]


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: ListenerProxy
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        targets = self.owner.targets()
        if not targets:
            self._reply(503, {"Content-Type": "text/plain"}, b"503 Service Unavailable: "
                        b"no healthy target behind this listener\n")
            return
        for ip, port in targets:
            try:
                status, reply_headers, reply = _send(ip, port, self.command, self.path, body,
                                                     headers)
            except (ConnectionRefusedError, ConnectionResetError):
                # The task stopped between the health book and now: like an ALB retrying a
                # connection that never opened, try the next healthy target.
                if self.command in IDEMPOTENT:
                    continue
                break
            except OSError:
                break
            reply_headers["X-Sandbox-Target"] = f"{ip}:{port}"
            self._reply(status, reply_headers, reply)
            return
        self._reply(502, {"Content-Type": "text/plain"}, b"502 Bad Gateway\n")

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


def _send(ip: str, port: int, method: str, path: str, body: bytes | None,
          headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(ip, port, timeout=UPSTREAM_TIMEOUT_SECONDS)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()
