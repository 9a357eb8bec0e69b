"""The sandbox server process: moto with the sandbox's stack operations, data plane, listener
proxies (one per ALB port, and the private NLB's pass-through) and admin API, all on 127.0.0.1
ports chosen at start.

    python -m stackswap.sandbox.server --dir DIR [--stack-seconds S] [--client-address IP]
                                       [--https] ...

writes DIR/sandbox.json (pid, endpoint, proxy and admin URLs) once everything answers, and
removes it when it stops. With --https it first makes a CA and a server certificate
(sandbox/tls.py), writes them into DIR, and imports the certificate into the emulated ACM.
It stops on POST /shutdown, SIGTERM/SIGINT, when DIR/sandbox.json is removed, when
--exit-with-pid's process is gone, or after --lifetime-seconds.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import ThreadedMotoServer
from stackswap.sandbox import backends, moto_gaps, target_health
from stackswap.sandbox.admin_api import AdminApi
from stackswap.sandbox.data_plane import DataPlane
from stackswap.sandbox.environment import DEFAULT_REGION, client
from stackswap.sandbox.processes import pid_alive
from stackswap.sandbox.proxy import ListenerProxy, NlbProxy
from stackswap.sandbox.scaling import Scaling
from stackswap.sandbox.settings import SandboxSettings
from stackswap.sandbox.stack_operations import StackOperations
from stackswap.sandbox.tls import make_certificates
from stackswap.sandbox.webhook_sink import WebhookSink
from werkzeug.serving import make_server

log = logging.getLogger("stackswap.sandbox.server")

STATE_FILE = "sandbox.json"
# The ALB ports the sandbox serves: production and test listeners, HTTP and HTTPS (the
# config's defaults; HTTP :80 is also the redirect listener in HTTPS mode).
HTTP_PORTS = (80, 8080)
HTTPS_PORTS = (443, 8443)


class LockedMotoServer(ThreadedMotoServer):
    """moto's threaded server with every request run under MOTO_LOCK (see sandbox.backends)."""

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        app = backends.LockedWsgiApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True,
                                   request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class SandboxServer:
    def __init__(self, settings: SandboxSettings, directory: Path | None = None) -> None:
        self.settings = settings
        self.book = target_health.TargetHealthBook()
        self.data_plane = DataPlane(settings, self.book)
        self.stack_operations = StackOperations(settings, self.data_plane)
        self.scaling = Scaling(settings)
        self.moto = LockedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.certificates = make_certificates() if settings.https else None
        self.certificate_files: dict[str, Path] = {}
        self.certificate_arn: str | None = None
        tls = None
        if self.certificates is not None:
            if directory is None:
                raise ValueError("an HTTPS sandbox needs a directory for its certificates")
            self.certificate_files = self.certificates.write(directory)
            tls = self.certificates.server_context(self.certificate_files)
        self.proxies: dict[int, ListenerProxy] = {}
        for port in HTTP_PORTS:
            self.proxies[port] = ListenerProxy(port, self.book, settings.client_address,
                                               self.proxies)
        if tls is not None:
            for port in HTTPS_PORTS:
                self.proxies[port] = ListenerProxy(port, self.book, settings.client_address,
                                                   self.proxies, tls)
        production_port, test_port = HTTPS_PORTS if settings.https else HTTP_PORTS
        self.production = self.proxies[production_port]
        self.test = self.proxies[test_port]
        self.private = NlbProxy(production_port, settings.client_address,
                                self.production.scheme, self.proxies)
        self.sink = WebhookSink()
        self.admin = AdminApi({
            ("GET", "/status"): lambda _: (200, self.status()),
            ("GET", "/notifications"): lambda _: (200, {"received": self.sink.messages()}),
            ("POST", "/fail-next-update"): self._fail_next_update,
            ("POST", "/stack-seconds"): self._stack_seconds,
            ("POST", "/metric"): self._metric,
            ("POST", "/reset"): lambda _: (200, self.reset()),
            ("POST", "/shutdown"): lambda _: (200, self.request_shutdown()),
        })
        self.shutdown_requested = threading.Event()
        self.started_at = time.monotonic()

    def start(self) -> None:
        moto_gaps.install(stack_operations=self.stack_operations, target_health=self.book)
        self.moto.start()
        self._import_certificate()
        for part in (*self.proxies.values(), self.private, self.sink, self.admin,
                     self.data_plane, self.scaling):
            part.start()

    def stop(self) -> None:
        for part in (self.admin, self.scaling, self.stack_operations, self.data_plane,
                     *self.proxies.values(), self.private, self.sink):
            part.stop()
        self.moto.stop()

    def _import_certificate(self) -> None:
        """Import the server certificate into ACM (ImportCertificate), with the ARN it got at
        start when there is one (after a reset), as a user re-imports a certificate."""
        if self.certificates is None:
            return
        acm = client("acm", self.endpoint, DEFAULT_REGION)
        if self.certificate_arn is not None:
            # ImportCertificate with an ARN re-imports an existing certificate only; after a
            # reset there is none, so the sandbox puts its own back as it was.
            from moto.acm.models import CertBundle, acm_backends

            account = self.certificate_arn.split(":")[4]
            with backends.MOTO_LOCK:
                acm_backends[account][DEFAULT_REGION]._certificates[self.certificate_arn] = \
                    CertBundle(account, self.certificates.certificate_pem,
                               self.certificates.key_pem, chain=self.certificates.ca_pem,
                               region=DEFAULT_REGION, arn=self.certificate_arn)
            return
        self.certificate_arn = acm.import_certificate(
            Certificate=self.certificates.certificate_pem,
            PrivateKey=self.certificates.key_pem,
            CertificateChain=self.certificates.ca_pem)["CertificateArn"]

    @property
    def endpoint(self) -> str:
        host, port = self.moto.get_host_and_port()
        return f"http://{host}:{port}"

    def info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "endpoint": self.endpoint, "admin_url": self.admin.url,
                "production_url": self.production.url, "test_url": self.test.url,
                "private_url": self.private.url, "webhook_url": self.sink.webhook_url,
                "sns_endpoint": self.sink.sns_endpoint,
                "listener_urls": {str(port): proxy.url for port, proxy in self.proxies.items()},
                "client_address": self.settings.client_address, "https": self.settings.https,
                "certificate_arn": self.certificate_arn,
                "ca_file": str(self.certificate_files["ca"]) if self.certificate_files else None,
                "settings": self.settings.to_dict()}

    def status(self) -> dict[str, Any]:
        with backends.MOTO_LOCK:
            stacks = [{"name": stack.name, "status": stack.status,
                       "parameters": dict(stack.parameters),
                       "operation_seconds": self.stack_operations.stack_seconds(stack.name),
                       "finished_at": self.stack_operations.finished_at.get(stack.stack_id)}
                      for stack in backends.all_stacks()]
            services = []
            for backend in backends.ecs():
                for service in backend.services.values():
                    if service.status == "ACTIVE":
                        services.append({
                            "cluster": service.cluster_name, "service": service.name,
                            "desired": service.desired_count, "running": service.running_count,
                            "pending": service.pending_count,
                            "deployments": len(service.deployments),
                            "task_definition": service.task_definition})
        return {**self.info(), "uptime_seconds": round(time.monotonic() - self.started_at, 1),
                "stacks": stacks, "services": services, "tasks": self.data_plane.status(),
                "scaling": self.scaling.status()}

    def _fail_next_update(self, request: dict) -> tuple[int, dict]:
        stack = request.get("stack")
        if not isinstance(stack, str) or not stack:
            return 400, {"error": "give the stack name as {\"stack\": NAME}"}
        if not self.stack_operations.fail_next_update(stack):
            return 404, {"error": f"no stack named {stack} in the sandbox"}
        return 200, {"stack": stack, "fails": "next update"}

    def _stack_seconds(self, request: dict) -> tuple[int, dict]:
        seconds, stack = request.get("seconds"), request.get("stack")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) \
                or not 0 < seconds <= 86400:
            return 400, {"error": "give the seconds as {\"seconds\": S} with 0 < S <= 86400"}
        if stack is not None and (not isinstance(stack, str) or not stack):
            return 400, {"error": "\"stack\", when given, must be a stack name"}
        self.stack_operations.set_stack_seconds(float(seconds), stack)
        return 200, {"stack": stack, "seconds": float(seconds)}

    def _metric(self, request: dict) -> tuple[int, dict]:
        service, metric, value = (request.get("service"), request.get("metric"),
                                  request.get("value"))
        if not isinstance(service, str) or not isinstance(metric, str) or not metric:
            return 400, {"error": "give {\"service\": ARN or service/CLUSTER/NAME, "
                                  "\"metric\": NAME, \"value\": V}"}
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return 400, {"error": "\"value\" must be a number >= 0"}
        found = self.scaling.set_metric(service, metric, float(value))
        if found is None:
            return 404, {"error": f"no ECS service {service} in the sandbox"}
        return 200, {"service": found, "metric": metric, "value": float(value)}

    def reset(self) -> dict:
        """Back to an empty account: no tasks, no pending operations, moto reset."""
        self.stack_operations.reset()
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        # After moto's reset, so that no tick can start tasks for the services it forgets.
        self.data_plane.stop_all_tasks()
        self.scaling.reset()  # after moto's too: no tick keeps a cooldown of a forgotten service
        self.sink.clear()
        self._import_certificate()  # the sandbox's certificate is part of the empty account
        return {"reset": True}

    def request_shutdown(self) -> dict:
        self.shutdown_requested.set()
        return {"stopping": os.getpid()}


def _write_state(path: Path, info: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)  # atomic: a reader never sees half a file


def _should_stop(server: SandboxServer, state: Path, exit_with_pid: int | None,
                 deadline: float) -> str | None:
    if server.shutdown_requested.is_set():
        return "shutdown requested"
    if not state.exists():
        return f"{state} was removed"
    if exit_with_pid is not None and not pid_alive(exit_with_pid):
        return f"process {exit_with_pid} is gone"
    if time.monotonic() >= deadline:
        return "lifetime over"
    return None


def main(argv: list[str] | None = None) -> int:
    defaults = SandboxSettings()
    parser = argparse.ArgumentParser(prog="python -m stackswap.sandbox.server", description=__doc__)
    parser.add_argument("--dir", required=True, help="state directory (sandbox.json goes there)")
    for name, default in defaults.to_dict().items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=type(default), default=default)
    parser.add_argument("--exit-with-pid", type=int, default=None,
                        help="stop when this process is gone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per API call is noise
    settings = SandboxSettings(**{name: getattr(args, name) for name in defaults.to_dict()})
    state = Path(args.dir) / STATE_FILE
    server = SandboxServer(settings, Path(args.dir))
    server.start()
    # moto's and botocore's models live as long as the server: frozen, the cyclic collector no
    # longer re-scans them on every pass while the server answers (CPU the machine's other work
    # gets instead).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown_requested.set())
    signal.signal(signal.SIGINT, lambda *_: server.shutdown_requested.set())
    _write_state(state, server.info())
    log.info("sandbox up: %s", json.dumps(server.info()))
    deadline = time.monotonic() + settings.lifetime_seconds
    reason = None
    while reason is None:
        server.shutdown_requested.wait(0.5)
        reason = _should_stop(server, state, args.exit_with_pid, deadline)
    log.info("sandbox stopping: %s", reason)
    server.stop()
    try:
        if json.loads(state.read_text(encoding="utf-8")).get("pid") == os.getpid():
            state.unlink()
    except (OSError, ValueError):
        pass
    log.info("sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
