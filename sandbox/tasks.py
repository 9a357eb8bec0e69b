"""One emulated ECS task: a local HTTP server standing in for the container.

The image's tag decides how the "container" behaves, so a demo or a test can deploy a broken
version without building anything:

- any tag: `GET /` answers `hello from <image>`, the health path answers 200;
- a tag containing `unhealthy`: the health path answers 500 (`GET /` still answers);
- a tag containing `crash`: the container never starts listening (ECS would see it exit).
"""

from __future__ import annotations

import itertools
import threading
from http.server import ThreadingHTTPServer

from stackswap.sandbox.loopback import QuietHandler

_TASK_IDS = itertools.count(1)


def image_tag(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def crashes(image: str) -> bool:
    return "crash" in image_tag(image)


def fails_health_checks(image: str) -> bool:
    return "unhealthy" in image_tag(image)


class _AppServer(ThreadingHTTPServer):
    daemon_threads = True
    # shutdown() must not wait for in-flight requests: draining already gave them time.
    block_on_close = False
    image: str
    health_path: str


class _AppHandler(QuietHandler):
    server: _AppServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == self.server.health_path:
            healthy = not fails_health_checks(self.server.image)
            self._answer(200 if healthy else 500, "ok" if healthy else "unhealthy")
        else:
            self._answer(200, f"hello from {self.server.image}")

    def _answer(self, status: int, text: str) -> None:
        self.reply(status, (text + "\n").encode(), "text/plain; charset=utf-8")


class Task:
    """A task of one service on one task-definition revision."""

    def __init__(self, service_key: tuple, task_definition: str, image: str,
                 health_path: str) -> None:
        self.id = f"task-{next(_TASK_IDS)}"
        self.service_key = service_key
        self.task_definition = task_definition
        self.image = image
        self.health_path = health_path
        self._server: _AppServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping_since: float | None = None  # set when draining before the stop
        self.target_group: str | None = None  # where the data plane registered it
        self.started_at: float | None = None  # when it started (the grace period's start)

    def start(self) -> None:
        if crashes(self.image):
            return  # stays PENDING: the container exits before it ever listens
        server = _AppServer(("127.0.0.1", 0), _AppHandler)
        server.image, server.health_path = self.image, self.health_path
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"{self.id} {self.image}", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int | None:
        return self._server.server_address[1] if self._server else None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
