"""A threaded server on 127.0.0.1 (a free port) serving from a background thread — what the
admin API, the listener proxies and the private NLB's pass-through each are."""

from __future__ import annotations

import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    scheme = "http"

    def __init__(self, handler: type[socketserver.BaseRequestHandler] | type[
            BaseHTTPRequestHandler], name: str,
                 server_class: type[socketserver.TCPServer] = ThreadingHTTPServer) -> None:
        self._server = server_class(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        # Closing must not wait for idle keep-alive connections of clients.
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that answers whole bodies and logs nothing (one line per request
    would drown the server log)."""

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
