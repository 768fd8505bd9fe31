"""The sandbox's load-balancer emulator: an HTTP front door on loopback that routes each request the way
the seeded configuration would on AWS, to the local task processes.

Host header -> Route 53 record -> load balancer -> listener (HTTPS:443 if present, TLS not emulated, else
HTTP:80; redirects followed) -> the rules as ``topology.rules`` evaluates them for the whole request (host,
path, method, headers, query string, client address), the same evaluator the checks use; authenticate-* actions
are passed through (no identity provider in the sandbox: marked in the route); a rule the evaluator cannot judge
answers 500 naming it -> target group (a weighted forward picks one per request
by weight, as an ALB does; weight 0 is never picked) -> a registered target -> the security groups between
them -> the task's real process. Sandbox scaffolding for "smoke the green targets directly" (what one would
do from inside the VPC on AWS): a request carrying ``X-Shine-Ops-Target-Group: <name or ARN>`` skips the
listener rules and goes to that target group of the same load balancer. Every answer carries ``X-Shine-Ops-Simulated`` with the
route taken, and failures answer as an ALB would: 503 without targets, 504 when a security group drops
the packets, 502 when nothing listens on the target port. Reads moto only through the AWS API.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shine_ops.aws import Aws
from shine_ops.evaluators.network import admits
from shine_ops.topology import path as P
from shine_ops.topology import rules as R
from shine_ops.topology.collect import Collector
from shine_ops.topology.model import SecurityGroup
from shine_ops.topology.snapshot import Snapshot

from shine_ops.bluegreen.direct import PIN_HEADER  # the pin the blue-green direct smoke sends
HOP_BY_HOP = {"x-shine-ops-target-group", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length", "server", "date"}


class Decision:
    def __init__(self, route: list[str], status: int | None = None, reason: str = "",
                 upstream: tuple[str, int] | None = None, headers: dict[str, str] | None = None,
                 cacheable: bool = True) -> None:
        self.route, self.status, self.reason, self.upstream = route, status, reason, upstream
        self.headers = headers or {}
        self.cacheable = cacheable  # False when a weighted or pinned choice was made: decide per request


def pick_weighted(weights: dict[str, int], rng: random.Random | None = None) -> str | None:
    """One target group of a forward, chosen with probability weight / sum (weight 0: never)."""
    live = [(arn, w) for arn, w in weights.items() if w > 0]
    if not live:
        return None
    if len(live) == 1:
        return live[0][0]
    return (rng or random).choices([a for a, _ in live], weights=[w for _, w in live], k=1)[0]


def decide(aws: Aws, host: str, path: str, pin: str | None = None, request: R.Request | None = None) -> Decision:
    """Where a request for ``host`` + ``path`` ends, following the live configuration (``pin``: a target group
    name or ARN to go to directly, see the module docstring). ``request``: the whole request as received (else a
    plain GET of ``host`` + ``path``)."""
    req = request or R.Request.plain(host, path)
    c = Collector(aws, areas={"dns", "elbv2"})
    c.snap = snap = Snapshot(region=aws.region)
    from shine_ops.topology.model import LoadBalancer

    for raw in aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers"):
        lb = LoadBalancer.from_raw(raw)
        snap.load_balancers[lb.arn] = lb
    c._collect_domain(P.norm_dns(host)) if host else None
    branches = [b for b in P.branches(snap, host) if b.lb_arn] if host else []
    lb_arn = branches[0].lb_arn if branches else (_lb_forwarding_to(aws, snap, c, pin) if pin else None)
    if lb_arn is None:
        return Decision([f"{host}: no record reaches a load balancer"], 502, "DNS: no load balancer for this name")
    lb = snap.load_balancers[lb_arn]
    route = [f"{host} -> {lb.name}"]
    c._collect_listeners([lb.arn])
    listeners = snap.listeners_of(lb.arn)
    listener = next((l for l in listeners if l.port == 443), None) or next((l for l in listeners if l.port == 80), None)
    if listener is None:
        return Decision(route + ["no listener on 443 or 80"], 502, "connection refused by the load balancer")
    if pin:
        return _to_target_group(aws, snap, lb, route + [f"pinned by {PIN_HEADER}"], _pinned_tg(aws, snap, lb, pin),
                                cacheable=False)
    r = R.evaluate(snap, listener, req)
    route.append(f"{listener.label} {r.rule_label}")
    action = r.action
    if r.judged and action.type == "redirect":
        target = next((l for l in listeners if str(l.port) == str((action.redirect or {}).get("Port"))), None)
        if target is None or target.arn == listener.arn:
            return Decision(route, 301, "redirect", headers={"Location": f"https://{host}{path}"})
        listener = target
        r = R.evaluate(snap, listener, req)
        route.append(f"{listener.label} {r.rule_label}")
        action = r.action
    if not r.judged:  # never a guess: say what the evaluator does not model
        return Decision(route + [f"cannot judge: {'; '.join(r.cannot_judge)}"], 500,
                        "the sandbox's load balancer cannot judge a rule on this request")
    route += [f"{a.type} passed through (sandbox: no identity provider)" for a in r.auth]
    if action.type == "fixed-response":
        return Decision(route, int((action.fixed_response or {}).get("StatusCode", 200)), "fixed response")
    chosen = pick_weighted(action.target_groups) if action.type == "forward" else None
    if chosen is None:
        return Decision(route, 503, "no target group")
    weighted = len(action.forwarded_tgs) > 1
    if weighted:
        route.append("weighted " + ", ".join(f"{snap.tg_name(a)}={w}" for a, w in action.target_groups.items()))
    return _to_target_group(aws, snap, lb, route, chosen, cacheable=not weighted)


def _lb_forwarding_to(aws: Aws, snap: Snapshot, c: Collector, pin: str) -> str | None:
    """For a pinned request without a usable Host: the load balancer whose listeners or rules forward to the
    pinned group (at any weight)."""
    c._collect_listeners(list(snap.load_balancers))
    for lb_arn in snap.load_balancers:
        for listener in snap.listeners_of(lb_arn):
            for rule in snap.rules_of(listener.arn):
                for arn in rule.action.target_groups:
                    if arn == pin or arn.split("/")[-2:-1] == [pin]:
                        return lb_arn
    return None


def _pinned_tg(aws: Aws, snap: Snapshot, lb: Any, pin: str) -> str | None:
    """The ARN of the pinned target group when it belongs to ``lb`` (else None: answered 503)."""
    params = {"TargetGroupArns": [pin]} if pin.startswith("arn:") else {"Names": [pin]}
    try:
        groups = aws.call("elbv2", "DescribeTargetGroups", **params).get("TargetGroups", [])
    except Exception:  # noqa: BLE001 - an unknown group is answered like a missing one
        return None
    return next((g["TargetGroupArn"] for g in groups if lb.arn in g.get("LoadBalancerArns", [])
                 or not g.get("LoadBalancerArns")), None)


def _to_target_group(aws: Aws, snap: Snapshot, lb: Any, route: list[str], tg_arn: str | None, *,
                     cacheable: bool) -> Decision:
    """From a chosen target group to one of its targets and the local process behind it."""
    from shine_ops.sandbox import tasks

    if tg_arn is None:
        return Decision(route, 503, "no such target group on this load balancer", cacheable=cacheable)
    tg = snap.target_groups.get(tg_arn)
    if tg is None:
        from shine_ops.topology.model import TargetGroup

        raw = aws.call("elbv2", "DescribeTargetGroups", TargetGroupArns=[tg_arn]).get("TargetGroups", [])
        tg = TargetGroup.from_raw(raw[0]) if raw else None
    route.append(f"target group {tg.name if tg else tg_arn}")
    health = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg_arn).get("TargetHealthDescriptions", [])
    if not health:
        return Decision(route, 503, "Service Temporarily Unavailable: no registered targets", cacheable=cacheable)
    healthy = [h for h in health if h.get("TargetHealth", {}).get("State") == "healthy"]
    pick = (healthy or health)[0]  # with no healthy target an ALB fails open and tries them all
    ip, port = pick["Target"]["Id"], int(pick["Target"].get("Port") or (tg.port if tg else 80))
    route.append(f"target {ip}:{port}" + ("" if healthy else " (all unhealthy: failing open)"))
    local = tasks.RUNNER.by_ip(ip) if tasks.RUNNER else None
    if local is None:
        return Decision(route, 504, "Gateway Time-out: nothing answers at the target", cacheable=cacheable)
    groups = {g["GroupId"]: SecurityGroup.from_raw(g) for g in aws.paginate(
        "ec2", "DescribeSecurityGroups", "SecurityGroups", GroupIds=sorted(set(local.security_groups)))}
    if not any(admits(rule, port, set(lb.security_groups), []) for g in groups.values() for rule in g.ingress):
        return Decision(route + [f"security groups {', '.join(groups)} drop tcp/{port} from {', '.join(lb.security_groups)}"],
                        504, "Gateway Time-out: the target's security group drops the connection", cacheable=cacheable)
    route.append(f"task {local.address}:{port}")
    return Decision(route, upstream=(local.address, port), cacheable=cacheable)


class _Handler(BaseHTTPRequestHandler):
    server_version = "awselb/2.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:  # quiet: the daemon log is for the daemon
        pass

    def _handle(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = R.Request.from_target(host, self.path, self.command,
                                    {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP},
                                    self.client_address[0])
        try:
            d = self.server.decide(host, req.path, self.headers.get(PIN_HEADER) or None,  # type: ignore[attr-defined]
                                   req)
        except Exception as exc:  # noqa: BLE001 - the emulator answers as an ALB with an internal error
            d = Decision([f"emulator error: {type(exc).__name__}: {exc}"], 500, "emulator error")
        sim = " | ".join(d.route)
        if d.upstream is None:
            payload = f"{d.status} {d.reason}\n".encode()
            self.send_response(d.status or 502)
            for k, v in d.headers.items():
                self.send_header(k, v)
            self.send_header("X-Shine-Ops-Simulated", sim)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        headers["X-Forwarded-Proto"] = "https"
        headers["Host"] = host
        try:
            conn = http.client.HTTPConnection(*d.upstream, timeout=60)
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status, rheaders = resp.status, resp.getheaders()
            conn.close()
        except ConnectionRefusedError:
            status, rheaders, data = 502, [("Content-Type", "text/plain")], b"502 Bad Gateway: connection refused by the target\n"
            sim += f" | connection refused on {d.upstream[0]}:{d.upstream[1]}"
        except OSError as exc:
            status, rheaders, data = 504, [("Content-Type", "text/plain")], f"504 Gateway Time-out: {exc}\n".encode()
        self.send_response(status)
        for k, v in rheaders:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("X-Shine-Ops-Simulated", sim)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _handle


class AlbEmulator:
    """Serves the front door on 127.0.0.1:<free port>; decisions are cached for a second per host+path."""

    def __init__(self, aws: Aws, ttl_s: float = 1.0) -> None:
        self.aws, self.ttl = aws, ttl_s
        self._cache: dict[tuple, tuple[float, Decision]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.decide = self.decide  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def decide(self, host: str, path: str, pin: str | None = None, request: R.Request | None = None) -> Decision:
        req = request or R.Request.plain(host, path)
        # everything a rule may look at (headers, query string, method, client address) is part of the key
        key = (host, path, req.method, tuple(req.query_pairs()),
               tuple(sorted((k.lower(), v) for k, v in req.headers.items())), req.source_ip)
        now = time.monotonic()
        if pin is None:
            with self._lock:
                hit = self._cache.get(key)
                if hit and now - hit[0] < self.ttl:
                    return hit[1]
        d = decide(self.aws, host, path, pin, req)
        if d.cacheable and pin is None:  # a weighted choice is made again for every request
            with self._lock:
                self._cache[key] = (now, d)
        return d

    def start(self) -> "AlbEmulator":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
