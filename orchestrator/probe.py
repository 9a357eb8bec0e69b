"""Smoke requests: one HTTP(S) GET against a listener, as a user's browser would send it.

https is verified against `ca_bundle` (deploy.ca_bundle: a private CA, the sandbox's) or the
system's trust store. `host` sends the request to the URL's address with another name — the Host
header and the TLS server name (SNI, and the name the certificate must cover) — which is how the
test host rule of test_mode "host" is reached on the production listener. Redirects are not
followed: a smoke request judges the answer of the listener it asked.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.parse
from dataclasses import dataclass

# Why a request got no HTTP answer.
UNREACHABLE = "unreachable"  # no HTTP answer: refused, reset, timed out, closed, no route
TLS = "tls"  # connected, but the TLS handshake or the certificate check failed
UNRESOLVED = "unresolved"  # the host name does not resolve
BROKEN = "broken"  # connected, then no valid HTTP answer (or a bad URL)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all
    detail: str
    failure: str | None = None  # UNREACHABLE, TLS, UNRESOLVED or BROKEN when status is None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unreachable(self) -> bool:
        """No HTTP answer at all: the connection was refused, reset, timed out or closed."""
        return self.failure == UNREACHABLE


class _NamedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to an address that presents (SNI) and verifies another name."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name
        self.tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # the TCP connection only
        self.sock = self.tls_context.wrap_socket(self.sock, server_hostname=self.server_name)


def get(url: str, timeout: float = 5.0, *, ca_bundle: str | None = None,
        host: str | None = None) -> Answer:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = parts.hostname or ""
    except ValueError as error:
        return Answer(None, f"bad URL: {error}", BROKEN)
    if parts.scheme not in ("http", "https") or not address:
        return Answer(None, f"bad URL {url!r}", BROKEN)
    name = host or address
    default_port = port == (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_bundle)
        connection: http.client.HTTPConnection = _NamedHTTPSConnection(
            address, port, name, timeout, context)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", name if default_port else f"{name}:{port}")
        connection.putheader("User-Agent", "stackswap-smoke")
        connection.endheaders()
        response = connection.getresponse()
        return Answer(response.status, response.read(200).decode("utf-8", "replace")
                      or response.reason)
    except socket.gaierror as error:
        return Answer(None, f"cannot resolve {address}: {error.strerror or error}", UNRESOLVED)
    except ssl.SSLCertVerificationError as error:
        trusted = f"the CAs of {ca_bundle}" if ca_bundle else "the system's trust store"
        return Answer(None, f"certificate verify failed for {name} against {trusted}: "
                      f"{error.verify_message} (deploy.ca_bundle names a private CA)", TLS)
    except ssl.SSLError as error:
        return Answer(None, f"TLS failed: {error}", TLS)
    except (http.client.RemoteDisconnected, OSError) as error:
        # Refused, reset, timed out, closed before any answer, no route: no HTTP answer.
        return Answer(None, _reason(error), UNREACHABLE)
    except http.client.HTTPException as error:  # an answer that is not HTTP
        return Answer(None, _reason(error), BROKEN)
    finally:
        connection.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
