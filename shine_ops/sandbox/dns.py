"""The sandbox's DNS server: serves the Route 53 zones of the emulated account on 127.0.0.1 (UDP and TCP).

Route 53 in moto never answers a DNS query, so the sandbox answers itself, reading
the zones only through the AWS API (``shine_ops.aws.Aws``) and refreshing at most once a second, so a
``fix`` that changes a record shows in the next query:

- plain records (A, AAAA, CNAME, TXT) answer as stored; weighted or latency sets answer with the union;
- an alias A record to a load balancer answers that load balancer's synthetic loopback addresses
  (``127.78.x.y``, stable per load balancer, one per subnet); an alias to another record copies its A records;
- each load balancer's own DNS name (and its ``dualstack.`` form) answers the same synthetic addresses;
- in-zone CNAMEs are followed (dnslib's ZoneResolver stops at the CNAME);
- public zones only: the sandbox plays the internet's view.

Scenario scaffolding (``sandbox_dns.delegated``): names the registrar delegates elsewhere, answered as that
other zone would (``{alias: <load balancer name>}``, ``{values: [IPs]}``, ``{cname: name}`` or
``{nxdomain: true}``) instead of from the account's zones. Every answer is simulated: these addresses route
nowhere; the sandbox's load-balancer emulator routes by Host header.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from shine_ops.aws import Aws
from shine_ops.topology.model import norm_dns

MAX_CHASE = 8


def lb_addresses(arn: str, count: int = 1) -> list[str]:
    """Synthetic, stable loopback addresses of one load balancer: 127.78.x.y .. y+count-1."""
    h = hashlib.sha256(arn.encode()).digest()
    x, y = h[0], 1 + h[1] % 200
    return [f"127.78.{x}.{y + i}" for i in range(max(1, min(count, 6)))]


def _resolver_class():
    from dnslib import QTYPE, RCODE, DNSRecord
    from dnslib.zoneresolver import ZoneResolver

    class ChasingZoneResolver(ZoneResolver):
        """dnslib's ZoneResolver over a replaceable record list, that follows in-zone CNAMEs, answers NOERROR with
        no data (not NXDOMAIN) for a name that exists with other types, and REFUSED outside its zones."""

        def __init__(self) -> None:
            super().__init__("")
            self.origins: list[str] = []

        def set_records(self, rrs: list, origins: list[str]) -> None:
            self.zone, self.origins = [(rr.rname, QTYPE[rr.rtype], rr) for rr in rrs], origins

        def _one(self, request, handler):
            return ZoneResolver.resolve(self, request, handler)

        def resolve(self, request, handler):
            zone = self.zone  # one consistent view while answering
            qname, qtype = request.q.qname, QTYPE[request.q.qtype]
            name = str(qname).rstrip(".").lower()
            if not any(name == o or name.endswith("." + o) for o in self.origins):
                reply = request.reply()
                reply.header.rcode = RCODE.REFUSED
                return reply
            reply = self._one(request, handler)
            seen: set[str] = set()
            while qtype not in ("CNAME", "ANY") and reply.rr and QTYPE[reply.rr[-1].rtype] == "CNAME":
                target = str(reply.rr[-1].rdata.label)
                if target in seen or len(seen) >= MAX_CHASE:
                    break
                seen.add(target)
                sub = self._one(DNSRecord.question(target, qtype), handler)
                if not sub.rr:
                    break
                for rr in sub.rr:
                    reply.add_answer(rr)
            if reply.rr or any(n == qname for n, _, _ in zone):
                reply.header.rcode = RCODE.NOERROR
            return reply

    return ChasingZoneResolver


class SandboxDns:
    """Builds the record set from the account and serves it; ``endpoint`` is ``127.0.0.1:PORT``."""

    def __init__(self, aws: Aws, scaffolding: dict | None = None, ttl_s: float = 1.0) -> None:
        self.aws, self.ttl = aws, ttl_s
        self.delegated = {norm_dns(k): v or {} for k, v in ((scaffolding or {}).get("delegated") or {}).items()}
        self.resolver = _resolver_class()()
        self._built_at = 0.0
        self._lock = threading.Lock()
        self.servers: list[Any] = []
        self.port = 0
        self.last_error: str | None = None

    # -- the records ---------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._built_at < self.ttl:
                return
            try:
                rrs, origins = self.build()
                self.resolver.set_records(rrs, origins)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep serving the last good view
                self.last_error = f"{type(exc).__name__}: {exc}"
            self._built_at = time.monotonic()

    def build(self) -> tuple[list, list[str]]:
        from dnslib import AAAA, CNAME, RR, TXT, A, QTYPE

        lbs = {}
        for raw in self.aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers"):
            lbs[norm_dns(raw["DNSName"])] = (raw["LoadBalancerName"],
                                             lb_addresses(raw["LoadBalancerArn"], len(raw.get("AvailabilityZones") or [])))
        by_lb_name = {name: addrs for name, addrs in lbs.values()}
        records: dict[str, list[tuple[str, Any, int]]] = {}  # name -> [(type, rdata, ttl)]
        aliases: list[tuple[str, str]] = []
        origins = ["elb.amazonaws.com"]

        def add(name: str, rtype: str, rdata: Any, ttl: int = 60) -> None:
            records.setdefault(name.lower().rstrip("."), []).append((rtype, rdata, ttl))  # callers normalise

        for dns_name, (_, addrs) in lbs.items():
            for n in (dns_name, "dualstack." + dns_name):
                for a in addrs:
                    add(n, "A", A(a))
        for zone in self.aws.paginate("route53", "ListHostedZones", "HostedZones"):
            if (zone.get("Config") or {}).get("PrivateZone"):
                continue
            origins.append(norm_dns(zone["Name"]))
            for rr in self.aws.paginate("route53", "ListResourceRecordSets", "ResourceRecordSets",
                                        HostedZoneId=zone["Id"].split("/")[-1]):
                name, rtype = norm_dns(rr["Name"]), rr["Type"]
                ttl = int(rr.get("TTL", 60))
                if rr.get("AliasTarget"):
                    if rtype == "A":
                        target = norm_dns(rr["AliasTarget"]["DNSName"])
                        if target in lbs:
                            for a in lbs[target][1]:
                                add(name, "A", A(a))
                        else:
                            aliases.append((name, target))
                    continue
                for v in (x["Value"] for x in rr.get("ResourceRecords", [])):
                    if rtype == "A":
                        add(name, "A", A(v), ttl)
                    elif rtype == "AAAA":
                        add(name, "AAAA", AAAA(v), ttl)
                    elif rtype == "CNAME":
                        add(name, "CNAME", CNAME(norm_dns(v) + "."), ttl)
                    elif rtype == "TXT":
                        add(name, "TXT", TXT(v.strip('"')), ttl)
        for name, target in aliases:  # alias to another record: answer its A records (Route 53 flattens aliases)
            for rtype, rdata, ttl in list(records.get(target, [])):
                if rtype == "A":
                    add(name, "A", rdata, ttl)
        for name, spec in self.delegated.items():  # scaffolding: another zone answers for these names
            records.pop(name, None)
            if spec.get("nxdomain"):
                continue
            if spec.get("alias"):
                for a in by_lb_name.get(spec["alias"], []):
                    add(name, "A", A(a))
            for v in spec.get("values") or []:
                add(name, "A", A(v))
            if spec.get("cname"):
                add(name, "CNAME", CNAME(norm_dns(spec["cname"]) + "."))
            if not any(name == o or name.endswith("." + o) for o in origins):
                origins.append(name)
        rrs = [RR(rname=name + ".", rtype=getattr(QTYPE, rtype), rdata=rdata, ttl=ttl)
               for name, recs in sorted(records.items()) for rtype, rdata, ttl in recs]
        return rrs, sorted(set(origins), key=len, reverse=True)

    # -- serving -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, attempts: int = 20) -> "SandboxDns":
        from dnslib.server import BaseResolver, DNSLogger, DNSServer

        owner = self

        class Refreshing(BaseResolver):
            def resolve(self, request, handler):
                owner.refresh()
                return owner.resolver.resolve(request, handler)

        self.refresh(force=True)
        logger = DNSLogger("-request,-reply,-truncated", prefix=False)  # errors only, to the daemon's log
        last: Exception | None = None
        for _ in range(attempts):  # a free port for both UDP and TCP
            udp = DNSServer(Refreshing(), address="127.0.0.1", port=0, logger=logger)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(Refreshing(), address="127.0.0.1", port=port, tcp=True, logger=logger)
            except OSError as exc:
                udp.server.server_close()
                last = exc
                continue
            self.servers, self.port = [udp, tcp], port
            for s in self.servers:
                s.start_thread()
            return self
        raise OSError(f"no free port for the sandbox DNS server: {last}")

    def stop(self) -> None:
        for s in self.servers:
            try:
                s.stop()
                s.server.server_close()
            except Exception:  # noqa: BLE001
                pass
        self.servers = []


SERVER: SandboxDns | None = None  # the daemon's one server (stopped on shutdown)


def start_for(aws: Aws, scenario: dict) -> tuple[str | None, str]:
    """Start the daemon's DNS server for ``scenario``: (``127.0.0.1:PORT`` or None, a note for the state file)."""
    global SERVER
    try:
        import dnslib  # noqa: F401
    except ModuleNotFoundError:
        return None, "the sandbox DNS server needs dnslib (the 'sandbox' extra)"
    SERVER = SandboxDns(aws, scenario.get("sandbox_dns")).start()
    return SERVER.endpoint, "running"


def stop() -> None:
    global SERVER
    if SERVER is not None:
        SERVER.stop()
        SERVER = None
