"""Live DNS probe for ``dns.resolves-to-alb``: resolve the domain, and the DNS names of the load balancers its
record aliases, through one resolver, within the shared probe budget.

The result is plain data (``ctx.probes["dns"]``) that the pure evaluator compares with the snapshot.
NXDOMAIN, empty answers, timeouts and unreachable servers become per-name errors, never exceptions.
The resolver is ``--resolver IP[:PORT]``, else the sandbox's DNS server (``dns_endpoint`` in its state file,
answers marked simulated), else the system's resolver configuration. dnspython is imported lazily.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from shine_ops.errors import UsageError


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address -> (ip, port); a usage error otherwise."""
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"--resolver {text!r} is not IP[:PORT]")
            port = _port(rest[1:], text)
    elif raw.count(":") == 1:
        host, p = raw.split(":")
        port = _port(p, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--resolver {text!r} is not IP[:PORT]", hint="give the DNS server's address, "
                                                                       "e.g. 127.0.0.1:5353 or 8.8.8.8") from None
    return host, port


def _port(p: str, text: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise UsageError(f"--resolver {text!r}: the port must be 1-65535")
    return int(p)


MAX_NAMES = 8


def names_to_resolve(snap: Any, path: Any) -> list[str]:
    """Load balancer DNS names to resolve: first those the domain's record aliases (what the live answer should
    match), then the others of the account (to name the one a stray answer belongs to), at most ``MAX_NAMES``."""
    first = [a for a in path.record_lb_arns if a in snap.load_balancers]
    rest = [a for a in path.path_lb_arns(snap) + sorted(snap.load_balancers) if a in snap.load_balancers]
    arns = list(dict.fromkeys(first + rest))
    return [snap.load_balancers[a].dns_name for a in arns[:max(MAX_NAMES, len(first))]]


def probe_dns(domain: str | None, lb_names: list[str], *, resolver: str | None = None, timeout_s: float = 10.0,
              enabled: bool = True, sandbox_state: dict | None = None) -> dict[str, Any]:
    """Resolve ``domain`` and ``lb_names`` (A records); the result is evidence, never an exception."""
    if not enabled:
        return {"skipped": "Live probes are off (--no-probe)."}
    if not domain:
        return {"skipped": "No domain to resolve."}
    simulated = False
    if resolver is None and sandbox_state is not None:
        resolver = sandbox_state.get("dns_endpoint")
        if not resolver:
            return {"skipped": "This sandbox runs no DNS server (restart it: shine-ops sandbox down; sandbox up)."}
        simulated = True
    try:
        import dns.exception
        import dns.resolver
    except ModuleNotFoundError:
        return {"skipped": "dnspython is not installed: pip install dnspython."}
    deadline = time.monotonic() + timeout_s
    out: dict[str, Any] = {"resolver": resolver or "system", "simulated": simulated, "answers": {}}
    try:
        if resolver:
            ip, port = parse_resolver(resolver)
            res = dns.resolver.Resolver(configure=False)
            res.nameservers, res.port = [ip], port
        else:
            res = dns.resolver.Resolver()
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. no /etc/resolv.conf: every name is an error
        err = {"addresses": [], "error": "this machine has no usable DNS resolver (no name server configured)",
               "error_kind": "resolver", "error_class": type(exc).__name__, "error_detail": str(exc)[:300]}
        out["answers"] = {n: dict(err) for n in [domain, *lb_names]}
        return out
    res.cache = None
    for name in list(dict.fromkeys([domain, *lb_names])):
        out["answers"][name] = _resolve(res, name, deadline, timeout_s)
    return out


def _resolve(res: Any, name: str, deadline: float, budget: float) -> dict[str, Any]:
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    left = deadline - time.monotonic()
    if left <= 0.05:
        return {"addresses": [], "error": f"probe budget of {budget:g} s exhausted", "error_kind": "timeout"}
    res.lifetime = left
    res.timeout = min(left, 3.0)
    t0 = time.perf_counter()
    rec: dict[str, Any] = {"addresses": []}
    try:
        ans = res.resolve(name, "A", search=False)
        rec["addresses"] = sorted({r.address for r in ans})
        rec["canonical_name"] = str(ans.canonical_name).rstrip(".")
        rec["cnames"] = [str(rr.name).rstrip(".") for rr in ans.response.answer if rr.rdtype == dns.rdatatype.CNAME]
        rec["ttl"] = ans.rrset.ttl if ans.rrset is not None else None
    except dns.resolver.NXDOMAIN:
        rec.update(error="NXDOMAIN: the name does not exist", error_kind="nxdomain")
    except dns.resolver.NoAnswer:
        rec.update(error="no A record in the answer", error_kind="noanswer")
    except dns.resolver.NoNameservers as exc:
        rec.update(error="no name server gave an answer (SERVFAIL or refused)", error_kind="servfail",
                   error_class=type(exc).__name__, error_detail=str(exc)[:300])
    except dns.exception.Timeout:
        rec.update(error=f"timed out after {left:.1f} s", error_kind="timeout")
    except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
        rec.update(error="the lookup failed", error_kind="other", error_class=type(exc).__name__,
                   error_detail=str(exc)[:300])
    rec["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return rec
