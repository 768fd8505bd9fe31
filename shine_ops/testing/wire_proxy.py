"""Chaos at the wire: a loopback HTTP proxy in front of a local AWS emulator (a moto server).

moto answers every call at once and never throttles, so a test over moto alone cannot show what a real account
does to a run: throttling, 503s and ~100 ms per exchange. This proxy sits between the client and the emulator and,
for a seeded share of the AWS calls, answers in the emulator's place with a throttling error or a 503 **in the
wire protocol of the service** (as the installed botocore speaks it), so botocore's own retry logic sees exactly
what a real endpoint would send. It can also add a fixed latency to every exchange.

Unlike ``shine_ops.faults`` (a hook inside one botocore session), the proxy works for any client in any process:
the CLI run as a subprocess, a bench script, a sandbox. It is a test-suite tool: it listens on loopback only,
forwards to a loopback emulator only, and no production code imports it.

    with WireProxy("http://127.0.0.1:5000", fault_rate=0.3, latency_s=0.1, seed=7) as proxy:
        run(["shine-ops", "diagnose", "--endpoint-url", proxy.url, ...])
        print(proxy.injected)          # Counter({"ecs.DescribeServices": 3, ...})

A fault is decided per request from (seed, service.Operation, the n-th request of that operation), not from one
shared random stream, so the same run gets the same faults even when calls run concurrently. Which call a request
is, and how its endpoint words an error, is ``shine_ops.testing.aws_wire``.
"""

from __future__ import annotations

import http.client
import ipaddress
import random
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable
from urllib.parse import urlsplit

from shine_ops.testing.aws_wire import KINDS, Call, ServiceModels, error_response, identify

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "transfer-encoding", "upgrade", "expect", "content-length"}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WireProxy:
    """A threaded loopback proxy that injects throttling/503 answers and latency in front of ``upstream``.

    ``fault_rate``: share (0..1) of AWS calls answered with a fault instead of being forwarded.
    ``latency_s``: added to every exchange (faults included), as a real endpoint's round trip would be.
    ``services``: only calls to these services (botocore names: ``ec2``, ``elbv2``, ``cloudwatch``...) get
    faults; ``None`` means all. ``kinds``: which faults to draw from (``throttle``, ``unavailable``).
    ``seed``: makes the faults reproducible. ``max_connections``: at most this many client connections at once
    (one thread each); further ones wait. Idle keep-alive connections close after ``idle_timeout_s``.
    """

    def __init__(self, upstream: str, *, fault_rate: float = 0.0, latency_s: float = 0.0, seed: int | None = 0,
                 services: Iterable[str] | None = None, kinds: Iterable[str] = KINDS, host: str = "127.0.0.1",
                 max_connections: int = 64, idle_timeout_s: float = 15.0, upstream_timeout_s: float = 60.0) -> None:
        up = urlsplit(upstream)
        if up.scheme != "http" or not _is_loopback(up.hostname):
            raise ValueError(f"the wire proxy forwards only to a loopback http endpoint, not {upstream!r}")
        if not _is_loopback(host):
            raise ValueError(f"the wire proxy listens on loopback only, not {host!r}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be from 0 to 1, not {fault_rate}")
        if latency_s < 0:
            raise ValueError("latency_s must not be negative")
        self.kinds = tuple(kinds)
        if not self.kinds or set(self.kinds) - set(KINDS):
            raise ValueError(f"kinds must be some of {KINDS}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.upstream = upstream.rstrip("/")
        self._up_host, self._up_port = up.hostname or "127.0.0.1", up.port or 80
        self.fault_rate, self.latency_s, self.seed = fault_rate, latency_s, seed
        self.services = frozenset(services) if services is not None else None
        self.host, self.max_connections = host, max_connections
        self.idle_timeout_s, self.upstream_timeout_s = idle_timeout_s, upstream_timeout_s
        self.injected: Counter[str] = Counter()  # service.Operation -> faults answered
        self.injected_kinds: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()  # service.Operation -> calls passed to the upstream
        self.codes: Counter[str] = Counter()  # error code the client was sent -> how often
        self._seq: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._models = ServiceModels()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the wire proxy is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "WireProxy":
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"timeout": self.idle_timeout_s})
        self._server = _Server((self.host, 0), handler, self, self.max_connections)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"wire-proxy:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every open client connection, and wait (bounded) for the handler threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.closing.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        server.join_threads(timeout=5.0)
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> "WireProxy":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- counts --------------------------------------------------------------------------------------------------
    def reset_counts(self) -> None:
        with self._lock:
            self.injected.clear()
            self.injected_kinds.clear()
            self.forwarded.clear()
            self.codes.clear()

    def stats(self) -> dict[str, Any]:
        """What the proxy did, for a bench's printout or a test's assertion."""
        with self._lock:
            return {"fault_rate": self.fault_rate, "latency_s": self.latency_s, "seed": self.seed,
                    "forwarded": sum(self.forwarded.values()), "injected": sum(self.injected.values()),
                    "injected_by_operation": dict(sorted(self.injected.items())),
                    "injected_by_kind": dict(sorted(self.injected_kinds.items())),
                    "codes": dict(sorted(self.codes.items()))}

    # -- one exchange --------------------------------------------------------------------------------------------
    def _decide(self, call: Call) -> str | None:
        if self.fault_rate <= 0 or (self.services is not None and call.service not in self.services):
            return None
        with self._lock:
            self._seq[call.key] += 1
            n = self._seq[call.key]
        rng = random.Random(f"{self.seed}|{call.key}|{n}")
        if rng.random() >= self.fault_rate:
            return None
        return self.kinds[int(rng.random() * len(self.kinds))]

    def exchange(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one request: after the latency, a fault (for the chosen share) or the upstream's answer."""
        if self.latency_s:
            time.sleep(self.latency_s)
        try:
            call = identify(self._models, method, target, headers, body)
        except Exception:  # noqa: BLE001 - an unreadable request is forwarded as it is, never dropped
            call = None
        kind = self._decide(call) if call else None
        if call and kind:
            status, out_headers, payload, code = error_response(call, kind)
            with self._lock:
                self.injected[call.key] += 1
                self.injected_kinds[kind] += 1
                self.codes[code] += 1
            return status, out_headers, payload
        if call:
            with self._lock:
                self.forwarded[call.key] += 1
        return self._forward(method, target, headers, body)

    def _forward(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self._up_host, self._up_port, timeout=self.upstream_timeout_s)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Connection", "close")
            conn.endheaders(body or None)
            resp = conn.getresponse()
            payload = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            if method == "HEAD":  # no body, but the length of the one a GET would have
                out += [(k, v) for k, v in resp.getheaders() if k.lower() == "content-length"]
            return resp.status, out, payload
        except (OSError, http.client.HTTPException) as exc:
            msg = f"wire proxy: upstream {self.upstream} failed: {type(exc).__name__}: {exc}".encode()
            return 502, [("Content-Type", "text/plain")], msg
        finally:
            conn.close()


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer with a bound on connections, and a stop that closes the idle keep-alive ones."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, proxy: WireProxy, max_connections: int) -> None:
        self.proxy = proxy
        self.closing = threading.Event()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: dict[Any, threading.Thread | None] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        while not self._slots.acquire(timeout=0.1):  # full: the accept loop waits (bounded threads)
            if self.closing.is_set():
                request.close()
                return
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name="wire-proxy-conn", daemon=True)
        with self._open_lock:
            self._open[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            tracked = self._open.pop(request, False) is not False
        super().shutdown_request(request)
        if tracked:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that hung up (or a stop that closed its connection): nothing to report
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._open_lock:
            socks = list(self._open)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def join_threads(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._open_lock:
            threads = [t for t in self._open.values() if t is not None]
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    """One client connection (HTTP/1.1 keep-alive): reads each request whole and answers through the proxy."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        body = self._read_body()
        if body is None:
            self.send_error(400, "unreadable request body")
            return
        status, headers, payload = self.server.proxy.exchange(self.command, self.path, self.headers, body)
        self.send_response(status)
        names = {k.lower() for k, _ in headers}
        for name, value in headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding", "") or "").lower():
            out = b""
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(8)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: tests read stdout/stderr
        pass


__all__ = ["KINDS", "WireProxy"]
