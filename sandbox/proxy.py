"""The load balancers' listeners as local servers: one reverse proxy per ALB port (HTTP, or TLS
for the HTTPS ports) and a TCP pass-through standing for the private NLB's listener.

Each ALB proxy stands for one listener port of the newest application load balancer that has
a listener on that port (sandbox/load_balancing.py reads moto's state at that moment):

- a connection is admitted only if the load balancer's security groups let the sandbox's client
  address (`--client-address`) in on that port, and only while such a listener exists;
  otherwise it is reset at once, with no HTTP answer (AWS drops the packets and the client
  times out; the sandbox resets so that a test or a smoke check learns it at once);
- each request is routed by the listener's rules (priority order, then the default action):
  forward to a healthy target of the chosen target group (round-robin; 503 when none is
  healthy), a fixed response, or a redirect. A redirect to another port of the same load
  balancer points at the local proxy standing for that port (its 127.0.0.1 URL), since the
  ALB's ports are not the sandbox's.

A swap in CloudFormation is therefore a swap of real traffic, and since draining targets keep
serving what they already accepted, a request loop sees no failure during a swap.

The pass-through (NlbProxy) stands for the production port of the newest network load
balancer: it admits a connection as above (a network load balancer without security groups
filters nothing), follows its listener's forward action to the target group of type `alb`, and
copies the raw bytes both ways to the local proxy standing for the registered ALB's port, so
TLS passes through end to end. The client address the ALB then sees is the sandbox's client
address: routing inside the VPC (who can reach an internal load balancer) is not emulated.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import logging
import select
import socket
import socketserver
import ssl
import struct
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stackswap.sandbox import backends, load_balancing
from stackswap.sandbox.loopback import LoopbackServer
from stackswap.sandbox.target_health import TargetHealthBook

log = logging.getLogger("stackswap.sandbox.proxy")

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
              "te", "trailer", "proxy-authenticate", "proxy-authorization"}
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
UPSTREAM_TIMEOUT_SECONDS = 30
PIPE_CHUNK = 65536


def reset(connection: socket.socket) -> None:
    """Close a connection with a TCP reset: the client gets no answer at all."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class _AdmittingServer(ThreadingHTTPServer):
    """Resets every connection `admit()` refuses, before reading a byte of it."""

    admit: Callable[[], bool]

    def verify_request(self, request: Any, client_address: Any) -> bool:
        try:
            admitted = self.admit()
        except Exception:
            log.exception("admission check failed")
            admitted = False
        if not admitted:
            reset(request)  # socketserver's own shutdown/close after this is a no-op
        return admitted

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away, a failed TLS handshake: nothing to report


class _AdmittingTcpServer(socketserver.ThreadingTCPServer):
    admit: Callable[[], bool]
    verify_request = _AdmittingServer.verify_request
    handle_error = _AdmittingServer.handle_error


class ListenerProxy(LoopbackServer):
    def __init__(self, listener_port: int, book: TargetHealthBook, client_address: str,
                 proxies: dict[int, ListenerProxy],
                 tls: ssl.SSLContext | None = None) -> None:
        self.listener_port = listener_port
        self.book = book
        self.client_address = client_address
        self.proxies = proxies  # ALB port -> its local proxy, for redirects
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.choice = load_balancing.WeightedChoice()
        self._turn = itertools.count()
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        super().__init__(Handler, f"listener :{listener_port}", _AdmittingServer)
        self._server.admit = self.admit  # type: ignore[attr-defined]

    def admit(self) -> bool:
        with backends.MOTO_LOCK:
            found = load_balancing.newest_load_balancer(self.listener_port)
            return found is not None and load_balancing.admits(
                found[0], self.listener_port, self.client_address)

    def decide(self, host: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """(rule key, terminal action) for a request; None when the listener is gone."""
        request = load_balancing.Request(host=host, path=path.split("?", 1)[0],
                                         client_address=self.client_address)
        with backends.MOTO_LOCK:
            found = load_balancing.newest_load_balancer(self.listener_port)
            if found is None:
                return None
            key, actions = load_balancing.actions_for(found[1], request)
            action = load_balancing.terminal_action(actions)
            return (key, dict(action)) if action is not None else (key, {})

    def targets(self, group: str | None) -> list[tuple[str, int]]:
        """Healthy targets of a target group now, in round-robin order for one request."""
        with backends.MOTO_LOCK:
            healthy = sorted(self.book.healthy(group)) if group else []
        if not healthy:
            return []
        start = next(self._turn) % len(healthy)
        rotated = healthy[start:] + healthy[:start]
        return [(ip, port) for _, ip, port in rotated]


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: ListenerProxy
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        if self.owner.tls is not None:
            self.request = self.owner.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        decision = self.owner.decide(self.headers.get("Host") or "", self.path)
        if decision is None:  # the listener was deleted while this connection was open
            self.close_connection = True
            reset(self.connection)
            return
        key, action = decision
        kind = action.get("Type")
        if kind == "fixed-response":
            self._fixed_response(action.get("FixedResponseConfig") or {})
        elif kind == "redirect":
            self._redirect(action.get("RedirectConfig") or {})
        elif kind == "forward":
            group = self.owner.choice.pick(key, load_balancing.weighted_groups(action))
            self._forward(group, body)
        else:
            self._reply(503, {"Content-Type": "text/plain"}, b"503 Service Unavailable\n")

    def _fixed_response(self, config: dict[str, Any]) -> None:
        body = (config.get("MessageBody") or "").encode()
        headers = {"Content-Type": config.get("ContentType") or "text/plain"}
        self._reply(int(config.get("StatusCode") or 503), headers, body)

    def _redirect(self, config: dict[str, Any]) -> None:
        host_header = self.headers.get("Host") or "127.0.0.1"
        host = load_balancing._host_name(host_header)
        path, _, query = self.path.partition("?")
        protocol, new_host, port, new_path, new_query = load_balancing.redirect_parts(
            config, self.owner.scheme, host, self.owner.listener_port, path, query)
        local = self.owner.proxies.get(int(port)) if port.isdigit() else None
        if new_host == host and local is not None:
            # Emulation: the ALB's port N is the local proxy standing for it.
            port = str(local.port)
        location = f"{protocol}://{new_host}:{port}{new_path}"
        if new_query:
            location += f"?{new_query}"
        status = 302 if config.get("StatusCode") == "HTTP_302" else 301
        self._reply(status, {"Location": location, "Content-Type": "text/plain"}, b"")

    def _forward(self, group: str | None, body: bytes | None) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        targets = self.owner.targets(group)
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


# --- the private NLB ------------------------------------------------------------------------------

class NlbProxy(LoopbackServer):
    """A TCP pass-through standing for port `listener_port` of the newest network load
    balancer."""

    def __init__(self, listener_port: int, client_address: str, scheme: str,
                 proxies: dict[int, ListenerProxy]) -> None:
        self.listener_port = listener_port
        self.client_address = client_address
        self.proxies = proxies
        self.scheme = scheme  # what passes through: the ALB port's protocol
        proxy = self

        class Handler(_PipeHandler):
            owner = proxy

        super().__init__(Handler, f"nlb :{listener_port}", _AdmittingTcpServer)
        self._server.admit = lambda: self.destination() is not None  # type: ignore[attr-defined]

    def destination(self) -> int | None:
        """The local port of the ALB proxy the NLB's listener leads to now; None when there is
        no such NLB listener, it refuses the client, or it leads nowhere the sandbox serves."""
        with backends.MOTO_LOCK:
            found = load_balancing.newest_load_balancer(self.listener_port, kind="network")
            if found is None:
                return None
            balancer, listener = found
            if not load_balancing.admits(balancer, self.listener_port, self.client_address):
                return None
            action = load_balancing.terminal_action(list(listener.default_actions or []))
            if not action or action.get("Type") != "forward":
                return None
            groups = [arn for arn, weight in load_balancing.weighted_groups(action) if weight]
            target = load_balancing.alb_target(groups[0]) if groups else None
        if target is None or target[1] not in self.proxies:
            return None
        return self.proxies[target[1]].port


class _PipeHandler(socketserver.BaseRequestHandler):
    owner: NlbProxy

    def handle(self) -> None:
        port = self.owner.destination()
        if port is None:
            reset(self.request)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            reset(self.request)
            return
        upstream.settimeout(None)
        try:
            _pipe(self.request, upstream)
        finally:
            upstream.close()


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until both sides have finished; a reset on one side resets the
    other."""
    open_from = {client: upstream, upstream: client}
    while open_from:
        readable, _, _ = select.select(list(open_from), [], [], 60)
        if not readable:
            return
        for source in readable:
            destination = open_from[source]
            try:
                data = source.recv(PIPE_CHUNK)
            except OSError:
                reset(destination)
                return
            if not data:
                del open_from[source]
                with contextlib.suppress(OSError):
                    destination.shutdown(socket.SHUT_WR)
                continue
            try:
                destination.sendall(data)
            except OSError:
                reset(source)
                return
