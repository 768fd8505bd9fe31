"""Listener hop: TLS on the path's listeners (a valid certificate for the domain, HTTP redirected to HTTPS).

A certificate name covers a domain exactly or as a wildcard for one left-most label; ACM renews the certificates
it issued 60 days before expiry and never renews imported ones, hence the warning at 30 days
(https://docs.aws.amazon.com/acm/latest/userguide/managed-renewal.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-https-listener.html).
"""

from __future__ import annotations

import datetime as _dt

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.evaluators.alb import judge_lbs, path_lbs, with_notes
from shine_ops.topology.model import Certificate, Listener, LoadBalancer

CERT_FAIL_DAYS = 14  # fewer days left than this: fail (renewal is overdue)
CERT_WARN_DAYS = 30  # fewer days left than this: warn (ACM renews managed certs 60 days ahead; imported ones never)
TLS_PROTOCOLS = ("HTTPS", "TLS")


def name_matches(pattern: str, domain: str) -> bool:
    """A certificate name covers ``domain``: exactly, or as a wildcard standing for exactly one left-most label."""
    pattern, domain = pattern.strip().lower().rstrip("."), domain.strip().lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".example.com"
        label = domain[: -len(suffix)] if domain.endswith(suffix) else ""
        return bool(label) and "." not in label and "*" not in label
    return pattern == domain


def cert_names(cert: Certificate) -> list[str]:
    return list(dict.fromkeys([n for n in [cert.domain, *cert.sans] if n]))


def cert_covers(cert: Certificate, domain: str) -> bool:
    return any(name_matches(n, domain) for n in cert_names(cert))


def _as_datetime(value) -> _dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
    try:
        parsed = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def days_left(cert: Certificate, now: _dt.datetime | None = None) -> float | None:
    end = _as_datetime(cert.not_after)
    if end is None:
        return None
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return (end - now).total_seconds() / 86400


def _tls_listeners(ctx: Context, lb: LoadBalancer) -> list[Listener]:
    return [l for l in ctx.snapshot.listeners_of(lb.arn) if l.protocol in TLS_PROTOCOLS]


_STATUS_MEANING = {
    "PENDING_VALIDATION": "still waits for its DNS or e-mail validation",
    "EXPIRED": "has expired",
    "REVOKED": "was revoked",
    "FAILED": "failed validation",
    "VALIDATION_TIMED_OUT": "timed out waiting for validation",
    "INACTIVE": "is inactive",
}


@evaluator("listener.https-certificate", needs={"elbv2", "certificates"}, hop="listener",
           params={"fail_days": {"type": "integer", "minimum": 0}, "warn_days": {"type": "integer", "minimum": 0}})
def https_certificate(ctx: Context, params: dict) -> Outcome:
    """Each HTTPS listener on the path has an ISSUED certificate that covers the domain (a wildcard stands for one
    label) with at least 14 days left (a warning under 30). No HTTPS listener at all on an internet-facing path is
    a warning (the domain is served over plain HTTP); on an internal one, a skip."""
    snap, domain = ctx.snapshot, ctx.path.domain
    lbs = path_lbs(ctx)
    if not lbs:
        return skip("No load balancer is on the path.")
    fail_days = int(params.get("fail_days", CERT_FAIL_DAYS))
    warn_days = int(params.get("warn_days", CERT_WARN_DAYS))
    plain = [lb for lb in lbs if not _tls_listeners(ctx, lb)]
    plain_note = (f"{', '.join(lb.name for lb in plain)} {'has' if len(plain) == 1 else 'have'} no HTTPS listener"
                  if plain else "")
    expected = (f"an ISSUED certificate covering {domain or 'the domain'} with >= {fail_days} days left "
                f"(warning under {warn_days})")
    if len(plain) == len(lbs):
        resources = [lb.arn for lb in lbs] + [l.arn for lb in lbs for l in snap.listeners_of(lb.arn)]
        evidence = {"listeners": {lb.name: [l.label for l in snap.listeners_of(lb.arn)] for lb in lbs}}
        if all(lb.scheme == "internal" for lb in lbs):
            return skip(f"{plain_note} (internal, plain HTTP): no certificate to check.", resources=resources,
                        evidence=evidence)
        return Outcome("warn", f"{domain or 'The service'} is served over plain HTTP only: {plain_note}, so "
                               "traffic is unencrypted and https:// pages cannot call it.",
                       resources=resources, expected="an HTTPS listener with a certificate for the domain",
                       actual=plain_note, evidence=evidence)
    fails: list[tuple[str, str]] = []  # (load balancer ARN, sentence)
    warns: list[str] = []
    oks: list[str] = []
    resources: list[str] = []
    rows: list[dict] = []
    now = _dt.datetime.now(_dt.timezone.utc)
    for lb in lbs:
        for lst in _tls_listeners(ctx, lb):
            where = f"{lb.name} {lst.label}"
            resources += [lb.arn, lst.arn, *lst.certificates]
            known = [snap.certificates[a] for a in lst.certificates if a in snap.certificates]
            unknown = [a for a in lst.certificates if a not in snap.certificates]
            row: dict = {"listener": where, "certificates": [
                {"arn": c.arn, "names": cert_names(c), "status": c.status,
                 "not_after": str(c.not_after) if c.not_after else None,
                 "days_left": None if days_left(c, now) is None else round(days_left(c, now), 1)} for c in known],
                "not_described": unknown}
            rows.append(row)
            if not lst.certificates:
                fails.append((lb.arn, f"HTTPS listener {where} has no certificate: every TLS handshake fails"))
                continue
            if domain:
                covering = [c for c in known if cert_covers(c, domain)]
                if not covering:
                    if unknown:
                        warns.append(f"{where} uses {', '.join(unknown)}, which shine-ops cannot describe "
                                     f"(not an ACM certificate?): cannot confirm it covers {domain}")
                    else:
                        names = "; ".join(", ".join(cert_names(c)) or f"no domain ({c.arn})" for c in known)
                        fails.append((lb.arn, f"The certificate on {where} names {names}, not {domain}: "
                                              "browsers reject the connection"))
                    continue
            else:
                covering = known
                if not covering:
                    warns.append(f"{where} uses {', '.join(unknown)}, which shine-ops cannot describe")
                    continue
            # The one the listener serves for the domain: an ISSUED one with the most time left, if any.
            cert = sorted(covering, key=lambda c: (c.status != "ISSUED", -(days_left(c, now) or -1e9)))[0]
            row["serving"] = cert.arn
            names = cert_names(cert)  # a certificate described without DomainName is named by its id alone
            label = f"{names[0]} ({cert.arn.split('/')[-1]})" if names else cert.arn.split("/")[-1]
            if cert.status != "ISSUED":
                meaning = _STATUS_MEANING.get(cert.status, f"is {cert.status}")
                fails.append((lb.arn, f"The certificate {label} on {where} {meaning} (status {cert.status}, "
                                      "not ISSUED): browsers reject the connection"))
                continue
            left = days_left(cert, now)
            if left is None:
                oks.append(f"{where} serves {label}, ISSUED (expiry unknown)")
            elif left <= 0:
                fails.append((lb.arn, f"The certificate {label} on {where} expired {-left:.0f} days ago: browsers "
                                      "reject the connection"))
            elif left < fail_days:
                fails.append((lb.arn, f"The certificate {label} on {where} expires in {left:.0f} days (under "
                                      f"{fail_days}): renew or replace it now"))
            elif left < warn_days:
                warns.append(f"The certificate {label} on {where} expires in {left:.0f} days (under {warn_days})")
            else:
                oks.append(f"{where} serves {label}, ISSUED, {left:.0f} days left"
                           + (f", covering {domain}" if domain else ""))
    evidence: dict = {"listeners": rows, "fail_days": fail_days, "warn_days": warn_days}
    if plain:
        evidence["without_https"] = [lb.name for lb in plain]
    if not domain:
        evidence["note"] = "no domain given: the certificates' names were not compared"
    actual = "; ".join([f for _, f in fails] + warns + oks + ([plain_note] if plain_note else []))
    return judge_lbs(ctx, fails, warns, with_notes("; ".join(oks) + ".", [plain_note] if plain_note else []),
                     resources=resources, expected=expected, actual=actual, evidence=evidence)


def _redirect_target(action, https_ports: set[int], listener_port: int) -> str | None:
    """Why a redirect action does not send clients to an HTTPS listener, or None when it does."""
    r = action.redirect or {}
    proto = str(r.get("Protocol", "#{protocol}"))
    port = str(r.get("Port", "#{port}"))
    if proto.upper() != "HTTPS":
        return f"redirects to {proto if proto != '#{protocol}' else 'the same protocol (HTTP)'}, not HTTPS"
    target_port = listener_port if port == "#{port}" else int(port) if port.isdigit() else None
    if target_port not in https_ports:
        return (f"redirects to HTTPS on port {target_port if target_port is not None else port}, where no HTTPS "
                f"listener is (HTTPS on {', '.join(map(str, sorted(https_ports)))})")
    return None


@evaluator("listener.http-redirects-https", needs={"elbv2"}, hop="listener")
def http_redirects_https(ctx: Context, params: dict) -> Outcome:
    """On each load balancer of the path that has an HTTPS listener, HTTP:80 redirects to it (301/302) rather than
    serving plain HTTP; load balancers without HTTPS have nothing to redirect to and are not judged."""
    snap, svc = ctx.snapshot, ctx.path.service
    lbs = path_lbs(ctx)
    if not lbs:
        return skip("No load balancer is on the path.")
    judged = [lb for lb in lbs if _tls_listeners(ctx, lb)]
    not_judged = [lb.name for lb in lbs if lb not in judged]
    if not judged:
        return skip(f"No load balancer on the path has an HTTPS listener to redirect to "
                    f"({', '.join(not_judged)}; see listener.https-certificate).",
                    resources=[lb.arn for lb in lbs])
    service_tgs = set(svc.target_group_arns) if svc else set()
    tg_names = snap.tg_names()

    def tgs_txt(tgs: list[str]) -> str:
        txt = ", ".join(tg_names.get(t, t) for t in tgs)
        return txt + (" (the service's target group)" if set(tgs) & service_tgs else "")

    fails, warns, oks, notes, resources, rows = [], [], [], [], [], []
    for lb in judged:
        https_ports = {l.port for l in _tls_listeners(ctx, lb)}
        http80 = [l for l in snap.listeners_of(lb.arn) if l.protocol == "HTTP" and l.port == 80]
        resources.append(lb.arn)
        if not http80:
            notes.append(f"{lb.name} has no HTTP:80 listener (http:// clients are refused, not redirected)")
            continue
        for lst in http80:
            where = f"{lb.name} {lst.label}"
            a = lst.default_action
            rows.append({"listener": where, "default_action": a.describe(tg_names),
                         "rules": [{"rule": r.label, "action": r.action.describe(tg_names)}
                                   for r in snap.rules_of(lst.arn) if not r.is_default]})
            resources.append(lst.arn)
            if a.type == "forward":
                resources += a.forwarded_tgs
                fails.append((lb.arn, f"{where} forwards plain HTTP to {tgs_txt(a.forwarded_tgs)} instead of "
                                      f"redirecting to HTTPS:{min(https_ports)}: requests and answers travel unencrypted"))
            elif a.type == "redirect":
                why = _redirect_target(a, https_ports, lst.port)
                if why:
                    fails.append((lb.arn, f"{where} {why}"))
                else:
                    oks.append(f"{where} {a.describe(tg_names)}")
            elif a.type == "fixed-response":
                warns.append(f"{where} answers {a.describe(tg_names)} instead of redirecting to HTTPS")
            else:
                warns.append(f"{where} ends in a {a.type} action instead of redirecting to HTTPS")
            for r in snap.rules_of(lst.arn):
                if r.is_default or not r.action.forwarded_tgs:
                    continue
                resources += [r.arn, *r.action.forwarded_tgs]
                fails.append((lb.arn, f"{where} rule {r.label} forwards plain HTTP to "
                                      f"{tgs_txt(r.action.forwarded_tgs)} instead of redirecting to HTTPS"))
    if not_judged:
        notes.append(f"{', '.join(not_judged)} {'has' if len(not_judged) == 1 else 'have'} no HTTPS listener "
                     "(not judged)")
    evidence = {"http_listeners": rows, "notes": notes}
    expected = "HTTP:80 redirects (301/302) to the HTTPS listener"
    actual = "; ".join([f for _, f in fails] + warns + oks + notes)
    summary = ("; ".join(oks) + "." if oks else "No HTTP:80 listener serves plain HTTP.")
    return judge_lbs(ctx, fails, warns, with_notes(summary, notes), resources=resources, expected=expected,
                     actual=actual, evidence=evidence)
