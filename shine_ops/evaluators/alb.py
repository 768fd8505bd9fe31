"""Load-balancer hop: the load balancers on the path are up, reachable on their listener ports, and wait long
enough for the slowest request the service is allowed to take."""

from __future__ import annotations

from dataclasses import dataclass, field

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology.model import LoadBalancer, SgRule

# AWS's default when ``idle_timeout.timeout_seconds`` was never set (DescribeLoadBalancerAttributes on real
# AWS returns it; moto returns nothing until an attribute is modified).
DEFAULT_IDLE_TIMEOUT_S = 60
INTERNET = ("0.0.0.0/0", "::/0")

_STATE_MEANING = {
    "provisioning": "is still provisioning and does not route traffic yet",
    "failed": "failed to provision and routes nothing",
    "active_impaired": "is active but impaired (AWS could not scale it or a zone is unhealthy): requests may fail",
}


def path_lbs(ctx: Context) -> list[LoadBalancer]:
    """The load balancers on the path: those the domain's record reaches, then those in front of the service."""
    snap = ctx.snapshot
    return [snap.load_balancers[a] for a in ctx.path.path_lb_arns(snap) if a in snap.load_balancers]


def off_path_lb_arns(ctx: Context) -> set[str]:
    """Load balancers the record reaches that do not forward to the service (the incident's legacy one).

    Then dns.points-to-service-alb fails already, and pointing the record at the service's load balancer takes
    them off the path: their own faults are reported as warnings, never as another root cause."""
    service = set(ctx.path.service_lb_arns(ctx.snapshot))
    return set(ctx.path.record_lb_arns) - service if service else set()


def verdict(ctx: Context, fails: list[tuple[str, str]], warns: list[str]) -> tuple[str, str] | None:
    """(status, summary) from failures tagged with their load balancer's ARN, or None when nothing is wrong."""
    off = off_path_lb_arns(ctx)
    real = [sentence for arn, sentence in fails if arn not in off]
    if real:
        more = f" (and {len(real) - 1} more)" if len(real) > 1 else ""
        return "fail", real[0] + more + "."
    if fails:
        arn, sentence = fails[0]
        lb = ctx.snapshot.load_balancers.get(arn)
        right = ", ".join(ctx.snapshot.load_balancers[a].name for a in ctx.path.service_lb_arns(ctx.snapshot)
                          if a in ctx.snapshot.load_balancers)
        return "warn", (f"{sentence} ({lb.name if lb else arn} does not forward to the service: "
                        f"pointing the record at {right} takes it off the path; see dns.points-to-service-alb).")
    if warns:
        more = f" (and {len(warns) - 1} more)" if len(warns) > 1 else ""
        return "warn", warns[0] + more + "."
    return None


def judge_lbs(ctx: Context, fails: list[tuple[str, str]], warns: list[str], passed: str, **details) -> Outcome:
    """The outcome of a check judged load balancer by load balancer: fail or warn as ``verdict`` says when anything
    is wrong, else pass with the summary ``passed``. ``details`` (resources, expected, actual, evidence) go on
    either."""
    judged = verdict(ctx, fails, warns)
    if judged:
        return Outcome(judged[0], judged[1], **details)
    return Outcome("pass", passed, **details)


def with_notes(summary: str, notes: list[str]) -> str:
    """``summary`` followed by what was not judged (``Note: ...``), if anything."""
    return summary + (" Note: " + "; ".join(notes) + "." if notes else "")


def _role(ctx: Context, lb: LoadBalancer) -> str:
    roles = []
    if lb.arn in ctx.path.record_lb_arns:
        roles.append("the domain's record reaches it")
    if lb.arn in ctx.path.service_lb_arns(ctx.snapshot):
        roles.append("it forwards to the service")
    return " and ".join(roles)


@evaluator("alb.active", needs={"elbv2"}, hop="load_balancer")
def active(ctx: Context, params: dict) -> Outcome:
    """Every load balancer on the path (the record's and the service's) is in state ``active``."""
    lbs = path_lbs(ctx)
    if not lbs:
        return skip("No load balancer is on the path (no record reaches one and none forwards to the service).")
    evidence = {"load_balancers": [{"name": lb.name, "state": lb.state, "role": _role(ctx, lb),
                                    "reason": (lb.raw.get("State") or {}).get("Reason")} for lb in lbs]}
    resources = [lb.arn for lb in lbs]
    expected = "state active"
    actual = ", ".join(f"{lb.name}: {lb.state}" for lb in lbs)
    bad = [lb for lb in lbs if lb.state != "active"]
    if not bad:
        return Outcome("pass", f"{', '.join(lb.name for lb in lbs)} {'is' if len(lbs) == 1 else 'are'} active.",
                       resources=resources, expected=expected, actual=actual, evidence=evidence)

    def sentence(lb: LoadBalancer) -> str:
        meaning = _STATE_MEANING.get(lb.state, f"is in state {lb.state!r}, not active")
        reason = (lb.raw.get("State") or {}).get("Reason")
        return f"Load balancer {lb.name} {meaning}" + (f" ({reason})" if reason else "")

    # active_impaired still routes: a warning; provisioning, failed or unknown states route nothing: a failure.
    status, summary = verdict(ctx, [(lb.arn, sentence(lb)) for lb in bad if lb.state != "active_impaired"],
                              [sentence(lb) for lb in bad if lb.state == "active_impaired"])  # type: ignore[misc]
    return Outcome(status, summary, resources=[lb.arn for lb in bad] + resources,
                   expected=expected, actual=actual, evidence=evidence)


def _sources(rule: SgRule) -> list[str]:
    return rule.cidrs + rule.ipv6_cidrs + rule.groups + rule.prefix_lists


@evaluator("alb.sg-allows-listener", needs={"elbv2", "security_groups"}, hop="load_balancer")
def sg_allows_listener(ctx: Context, params: dict) -> Outcome:
    """The load balancer's security groups admit every listener port: from the internet (0.0.0.0/0 or ::/0) when
    internet-facing, from some source when internal."""
    snap = ctx.snapshot
    lbs = path_lbs(ctx)
    if not lbs:
        return skip("No load balancer is on the path.")
    resources: list[str] = []
    failures: list[tuple[str, str]] = []  # (load balancer ARN, sentence)
    warnings: list[str] = []
    ok: list[str] = []
    notes: list[str] = []
    per_lb: list[dict] = []
    for lb in lbs:
        listeners = snap.listeners_of(lb.arn)
        resources.append(lb.arn)
        if not lb.security_groups:
            notes.append(f"{lb.name} has no security groups ({lb.type}): nothing filters its listener ports")
            continue
        groups = [snap.security_groups[g] for g in lb.security_groups if g in snap.security_groups]
        missing_groups = [g for g in lb.security_groups if g not in snap.security_groups]
        resources.extend(lb.security_groups)
        sg_txt = ", ".join([g.label for g in groups] + [f"{g} (not found)" for g in missing_groups])
        internal = lb.scheme == "internal"
        entry = {"load_balancer": lb.name, "scheme": lb.scheme, "security_groups": lb.security_groups,
                 "missing_security_groups": missing_groups,
                 "ingress": {g.id: [r.describe() for r in g.ingress] for g in groups}, "ports": {}}
        per_lb.append(entry)
        if not listeners:
            notes.append(f"{lb.name} has no listener")
            continue
        for port in sorted({l.port for l in listeners if l.port is not None}):
            rules = [(g, r) for g in groups for r in g.ingress if r.covers_tcp_port(port)]
            world = [(g, r) for g, r in rules if set(r.cidrs + r.ipv6_cidrs) & set(INTERNET)]
            if internal:
                if rules:
                    g, r = rules[0]
                    entry["ports"][port] = f"{g.id} admits {r.describe()}"
                    ok.append(f"{lb.name} (internal) :{port} admitted by {g.id} from {', '.join(_sources(r))}")
                else:
                    entry["ports"][port] = "not admitted"
                    failures.append((lb.arn, f"Security group {sg_txt} of internal load balancer {lb.name} admits "
                                             f"nothing on tcp/{port}: every request to its listener on port {port} "
                                             "times out"))
                continue
            if world:
                g, r = world[0]
                entry["ports"][port] = f"{g.id} admits {r.describe()}"
                ok.append(f"{lb.name} :{port} open to the internet by {g.id}")
            elif rules:
                srcs = sorted({s for _, r in rules for s in _sources(r)})
                entry["ports"][port] = f"only from {', '.join(srcs)}"
                warnings.append(f"{lb.name} is internet-facing but {sg_txt} admit{'s' if len(groups) == 1 else ''} "
                                f"tcp/{port} only from {', '.join(srcs)}: other clients time out "
                                "(fine if deliberate, e.g. a CloudFront-only origin)")
            else:
                entry["ports"][port] = "not admitted"
                failures.append((lb.arn, f"Security group {sg_txt} of internet-facing load balancer {lb.name} does "
                                         f"not admit tcp/{port} from the internet (0.0.0.0/0): clients of the listener "
                                         f"on port {port} time out before reaching it"))
    evidence = {"load_balancers": per_lb, "notes": notes}
    expected = "each listener port admitted from 0.0.0.0/0 or ::/0 (internet-facing), from some source (internal)"
    actual = "; ".join([f for _, f in failures] + warnings + ok + notes)
    if not ok and not failures and not warnings:
        return skip("; ".join(notes) + "." if notes else "No listener port to check.", resources=resources,
                    evidence=evidence)
    return judge_lbs(ctx, failures, warnings, with_notes("; ".join(ok) + ".", notes), resources=resources,
                     expected=expected, actual=actual, evidence=evidence)


def idle_timeout_of(lb: LoadBalancer) -> tuple[int | None, bool]:
    """(seconds, defaulted): the idle timeout, and whether it is AWS's default because the attribute is absent.

    AWS's DescribeLoadBalancerAttributes always returns the attribute (60 unless set); moto returns it only once
    modified, so an absent attribute is the load balancer's real timeout of 60 s, not a guess."""
    value = lb.attribute("idle_timeout.timeout_seconds")
    if value in (None, ""):
        return DEFAULT_IDLE_TIMEOUT_S, True
    try:
        return int(value), False
    except (TypeError, ValueError):
        return None, False


# A slowest recorded response at or above this share of the idle timeout reaches it: the requests the load
# balancer cut there (not recorded in TargetResponseTime) are the ones that needed longer.
NEAR_TIMEOUT = 0.9
DECLARE = ("declare latency_budget_s (the slowest request your app may take, in seconds) in shine-ops.yaml to "
           "judge the idle timeout against your app's slowest request")


@dataclass
class IdleEvidence:
    """What CloudWatch says about one load balancer's idle timeout, when no latency budget is declared.

    ``kind``: ``cut`` (504s and a slowest response near the timeout: the timeout cuts slow requests), ``clear``
    (requests answered, none cut), ``elsewhere`` (504s, every response far below the timeout), ``unclear``
    (504s but no response recorded), ``none`` (nothing to judge by: no data, not collected or not readable)."""

    kind: str
    sentence: str
    metrics: dict = field(default_factory=dict)


def _fmt_s(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") + " s"


def idle_evidence(ctx: Context, lb: LoadBalancer, seconds: int | None, defaulted: bool) -> IdleEvidence:
    """Judge one load balancer's idle timeout from its ELB 504s beside its slowest target response."""
    from shine_ops.topology.metrics import LbMetrics

    m = ctx.snapshot.lb_metrics.get(lb.arn)
    if not isinstance(m, LbMetrics):
        return IdleEvidence("none", f"{lb.name}: its CloudWatch metrics were not collected")
    shown = m.to_json()
    if m.error:
        grant = f" (grant {m.denied_action})" if m.denied_action else ""
        return IdleEvidence("none", f"{lb.name}: could not read its CloudWatch metrics{grant}: {m.error}", shown)
    hours = f"{m.window_h:g} h"
    if m.saw_nothing:
        return IdleEvidence("none", f"{lb.name}: CloudWatch recorded no request in the last {hours}", shown)
    timeout = (f"{seconds} s" + (" (the AWS default)" if defaulted else "")) if seconds is not None else "unreadable"
    cut, slowest = m.elb_504 or 0, m.response_max_s
    if not cut:
        if slowest is None:
            return IdleEvidence("none", f"{lb.name}: CloudWatch recorded no answered request in the last {hours}",
                                shown)
        answered = f"{m.responses:.0f} answered, " if m.responses else ""
        return IdleEvidence("clear", f"{lb.name}: no request was cut in the last {hours} ({answered}slowest "
                                     f"{_fmt_s(slowest)}, idle timeout {timeout})", shown)
    if slowest is None:
        return IdleEvidence("unclear", f"{lb.name} answered {cut:.0f} request(s) with its own 504 in the last {hours} "
                                       "and no target answered any: connections the targets never accepted, or "
                                       f"every request cut at the idle timeout ({timeout}) - cannot tell which", shown)
    if seconds is None:
        return IdleEvidence("none", f"{lb.name}: idle timeout {lb.attribute('idle_timeout.timeout_seconds')!r} is "
                                    "unreadable, so its 504s cannot be compared with it", shown)
    if slowest >= NEAR_TIMEOUT * seconds:
        return IdleEvidence("cut", f"Load balancer {lb.name} answered {cut:.0f} request(s) with its own 504 in the "
                                   f"last {hours} while its slowest target response took {_fmt_s(slowest)}, within "
                                   f"{100 - NEAR_TIMEOUT * 100:.0f}% of its {timeout} idle timeout: requests that "
                                   "need longer are cut there", shown)
    return IdleEvidence("elsewhere", f"{lb.name}: its slowest target response in the last {hours} took "
                                     f"{_fmt_s(slowest)}, far below its {timeout} idle timeout, so its {cut:.0f} "
                                     "ELB 504(s) come from elsewhere (targets that did not accept a connection: "
                                     "see sg.alb-to-task-ingress and tg.targets-healthy), not from this timeout",
                        shown)


@evaluator("alb.idle-timeout-covers-latency", needs={"elbv2", "lb_attributes", "lb_metrics"}, hop="load_balancer",
           params={"latency_budget_s": {"type": "number", "exclusiveMinimum": 0}})
def idle_timeout_covers_latency(ctx: Context, params: dict) -> Outcome:
    """``idle_timeout.timeout_seconds`` (AWS default 60 s when the attribute is absent) covers the slowest request.

    With ``latency_budget_s`` declared: the timeout is at least that budget. Without it: CloudWatch's evidence of
    the last hours, ELB 504s beside the slowest ``TargetResponseTime`` (requests cut at the timeout are not
    recorded above it); without evidence the check skips and names the setting. Never judged against a
    built-in budget."""
    declared = params.get("latency_budget_s", ctx.settings.latency_budget_s)
    lbs = [lb for lb in path_lbs(ctx) if lb.type == "application"]
    if not lbs:
        return skip("No application load balancer is on the path (network load balancers have no idle timeout "
                    "to set).")
    not_collected = [lb.name for lb in lbs if lb.attributes is None]
    if len(not_collected) == len(lbs):
        return skip("The load balancers' attributes were not collected.", resources=[lb.arn for lb in lbs])
    judged = [lb for lb in lbs if lb.attributes is not None]
    resources = [lb.arn for lb in judged]
    rows = []
    for lb in judged:
        seconds, defaulted = idle_timeout_of(lb)
        rows.append({"load_balancer": lb.name, "idle_timeout_s": seconds,
                     "source": "AWS default (attribute idle_timeout.timeout_seconds absent)" if defaulted
                     else "attribute idle_timeout.timeout_seconds",
                     "raw": lb.attribute("idle_timeout.timeout_seconds")})
        m = ctx.snapshot.lb_metrics.get(lb.arn)
        if m is not None and hasattr(m, "to_json"):
            rows[-1]["metrics"] = m.to_json()
    evidence: dict = {"latency_budget_s": declared, "load_balancers": rows, "default_s": DEFAULT_IDLE_TIMEOUT_S}
    if not_collected:
        evidence["not_collected"] = not_collected
    if declared is None:
        return _judge_from_evidence(ctx, judged, resources, evidence)
    try:
        budget = float(declared)
    except (TypeError, ValueError):
        return skip(f"latency_budget_s is {declared!r}, not a number of seconds: the idle timeout is not judged.",
                    resources=resources, evidence=evidence)
    shown_budget = f"{budget:g} s"
    evidence["judged_by"] = "latency_budget_s (declared)"
    short, ok = [], []
    for lb in judged:
        seconds, defaulted = idle_timeout_of(lb)
        txt = f"{lb.name}: {seconds} s" + (" (AWS default; attribute not set)" if defaulted else "")
        (short if seconds is None or seconds < budget else ok).append((lb, seconds, defaulted, txt))
    expected = f"idle timeout >= {shown_budget} (latency_budget_s)"
    actual = "; ".join(t for *_, t in short + ok)

    def sentence(lb: LoadBalancer, seconds: int | None, defaulted: bool) -> str:
        shown = (f"{seconds} s" + (" (the AWS default)" if defaulted else "") if seconds is not None
                 else f"an unreadable value {lb.attribute('idle_timeout.timeout_seconds')!r}")
        return (f"Load balancer {lb.name} closes connections idle for {shown}, less than the {shown_budget} a request "
                "may take (latency_budget_s): slower requests end in a 504")

    return judge_lbs(ctx, [(lb.arn, sentence(lb, sec, dflt)) for lb, sec, dflt, _ in short], [],
                     f"Idle timeout covers the {shown_budget} latency budget: {'; '.join(t for *_, t in ok)}.",
                     resources=resources, expected=expected, actual=actual, evidence=evidence)


def _judge_from_evidence(ctx: Context, lbs: list[LoadBalancer], resources: list[str], evidence: dict) -> Outcome:
    """No latency budget declared: fail only where CloudWatch shows the timeout cutting slow requests."""
    evidence["judged_by"] = "CloudWatch HTTPCode_ELB_504_Count and TargetResponseTime (latency_budget_s undeclared)"
    found = []
    for lb in lbs:
        seconds, defaulted = idle_timeout_of(lb)
        found.append((lb, idle_evidence(ctx, lb, seconds, defaulted)))
    evidence["findings"] = {lb.name: e.kind for lb, e in found}
    expected = ("no request cut at the idle timeout: no ELB 504s while the slowest target response nears the "
                "timeout (latency_budget_s is not declared)")
    actual = "; ".join(e.sentence for _, e in found)

    def by(*kinds: str) -> list[tuple[LoadBalancer, IdleEvidence]]:
        return [(lb, e) for lb, e in found if e.kind in kinds]

    judged = verdict(ctx, [(lb.arn, e.sentence + " (CloudWatch HTTPCode_ELB_504_Count beside TargetResponseTime "
                                                 "Maximum; latency_budget_s is not declared)")
                           for lb, e in by("cut")],
                     [e.sentence + "; " + DECLARE for _, e in by("unclear")])
    if judged:
        return Outcome(judged[0], judged[1], resources=resources, expected=expected, actual=actual, evidence=evidence)
    if by("clear", "elsewhere"):
        summary = "; ".join(e.sentence for _, e in by("clear", "elsewhere")) + "."
        unseen = by("none")
        if unseen:
            summary += " Not judged: " + "; ".join(e.sentence for _, e in unseen) + "."
        return Outcome("pass", f"{summary} Judged from CloudWatch; {DECLARE}.", resources=resources,
                       expected=expected, actual=actual, evidence=evidence)
    return skip(f"Not judged: latency_budget_s is not declared and CloudWatch gives no evidence ({actual}); "
                f"{DECLARE}.", resources=resources, expected=expected, actual=actual, evidence=evidence)
