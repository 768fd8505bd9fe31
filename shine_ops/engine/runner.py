"""Runs a playbook: collect once, resolve the path, evaluate every check, order the root causes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops import __version__
from shine_ops.engine.catalogue import Catalogue, Playbook
from shine_ops.engine.finding import Finding, Outcome, severity_at_least
from shine_ops.evaluators import HOPS, REGISTRY, Context, Settings
from shine_ops.topology.collect import Collector, Target
from shine_ops.topology.path import RequestPath
from shine_ops.topology.snapshot import Snapshot

REPORT_SCHEMA = "shine-ops.report/v1"
HOP_ORDER = list(HOPS)  # request-path order; the evaluators' declarations name these


@dataclass
class Report:
    playbook: str
    target: dict[str, Any]
    findings: list[Finding]
    path: list[dict[str, Any]]
    api_calls: dict[str, Any]
    duration_s: float
    snapshot: Snapshot | None = field(default=None, repr=False)
    request_path: RequestPath | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def root_causes(self) -> list[str]:
        failing = {f.check for f in self.findings if f.status == "fail" and not f.suppressed}
        return [f.check for f in self.findings
                if f.check in failing and not (set(f.explained_by) & failing)]

    @property
    def summary(self) -> dict[str, int]:
        counts = {s: 0 for s in ("pass", "fail", "warn", "skip", "error")}
        for f in self.findings:
            counts[f.status] += 1
        return counts

    def failing_at_or_above(self, threshold: str) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail" and not f.suppressed
                and severity_at_least(f.severity, threshold)]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA, "tool_version": __version__, "playbook": self.playbook,
            "target": self.target, "path": self.path, "findings": [f.to_json() for f in self.findings],
            "root_causes": self.root_causes, "summary": self.summary, "api_calls": self.api_calls,
            "duration_s": round(self.duration_s, 3),
        }


def evaluate(playbook: Playbook, ctx: Context) -> list[Finding]:
    """Evaluate every check of the playbook over the context (pure: no AWS calls)."""
    findings = []
    for entry in playbook.entries:
        chk = entry.check
        ev = REGISTRY.get(chk.evaluator)
        needs = set(ev.needs_for(entry.params) if ev else ())
        failed = failed_needs(needs, ctx.snapshot.errors)
        if failed:
            outcome = contained_error(failed)
        elif ev is None:
            outcome = Outcome("error", f"No evaluator named {chk.evaluator!r} is registered.")
        else:
            try:
                outcome = ev.fn(ctx, entry.params)
            except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
                outcome = Outcome("error", f"The evaluator failed: {type(exc).__name__}: {exc}.")
        f = Finding.from_outcome(chk.id, chk.title, entry.severity, outcome, fix=chk.fix,
                                 hop=ev.hop_for(entry.params) if ev else chk.hop, references=chk.references)
        findings.append(f)
    failing = {f.check for f in findings if f.status == "fail"}
    by_id = {e.check.id: e.check for e in playbook.entries}
    for f in findings:
        if f.status == "fail":
            f.explained_by = [c for c in by_id[f.check].consequence_of if c in failing]
    return findings


def failed_needs(needs: set[str], errors: dict[str, Any]) -> list[tuple[str, Any]]:
    """The failed reads among a check's ``needs``: an area, its umbrella (``network`` for ``nacls``), or any part
    of an umbrella it declares. Only these turn the check into ``error``; every other check still runs."""
    from shine_ops.topology.collect import AREA_PARTS

    related: set[str] = set()
    for area in needs:
        related.add(area)
        related.update(AREA_PARTS.get(area, ()))
        related.update(u for u, parts in AREA_PARTS.items() if area in parts)
    return [(a, errors[a]) for a in sorted(related) if a in errors]


def contained_error(failed: list[tuple[str, Any]]) -> Outcome:
    """The ``error`` finding of a check whose data could not be read: the call (and the resource) in our words,
    the IAM action to grant where it was denied, and the error's class and code as evidence."""
    area, err = failed[0]
    what = err.in_our_words() if hasattr(err, "in_our_words") else str(err)
    evidence = {"error": {"area": area, **(err.evidence() if hasattr(err, "evidence") else {"message": str(err)})}}
    if len(failed) > 1:
        evidence["other_failed_areas"] = {a: e.evidence() if hasattr(e, "evidence") else str(e) for a, e in failed[1:]}
    resources = list(dict.fromkeys(r for _, e in failed for r in getattr(e, "resources", [])))
    return Outcome("error", f"Could not evaluate: {what}.", resources=resources,
                   actual=f"{area} could not be read", evidence=evidence)


def path_hops(snap: Snapshot, path: RequestPath, findings: list[Finding]) -> list[dict[str, Any]]:
    """The request path as hops, each with the worst status of the checks about it."""
    def status(hop: str) -> str:
        sts = [f.status for f in findings if f.hop == hop]
        for s in ("fail", "error", "warn", "pass"):
            if s in sts:
                return s
        return "skip"

    hops: list[dict[str, Any]] = []
    if path.domain:
        hops.append({"hop": "dns", "resource": path.domain, "status": status("dns")})
    lbs = path.path_lb_arns(snap)
    for arn in lbs:
        lb = snap.load_balancers.get(arn)
        if lb:
            hops.append({"hop": "load_balancer", "resource": lb.name, "status": status("load_balancer")})
    listeners = [l for a in lbs for l in snap.listeners_of(a)]
    if listeners:
        hops.append({"hop": "listener", "resource": ", ".join(f"{snap.load_balancers[l.lb_arn].name}:{l.label}"
                                                               for l in listeners), "status": status("listener")})
    if path.service:
        tgs = [snap.tg_name(t) for t in path.service.target_group_arns]
        hops.append({"hop": "target_group", "resource": ", ".join(tgs), "status": status("target_group")})
        targets = [f"{t.id}:{t.port}" for a in path.service.target_group_arns if a in snap.target_groups
                   for t in snap.target_groups[a].targets or []]
        if targets or any(f.hop == "targets" for f in findings):
            hops.append({"hop": "targets", "resource": ", ".join(targets) or "none registered",
                         "status": status("targets")})
        hops.append({"hop": "service", "resource": path.service.key, "status": status("service")})
        td = path.task_definition(snap)
        if td:
            hops.append({"hop": "task_definition", "resource": td.label, "status": status("task_definition")})
        if path.service.security_groups:
            hops.append({"hop": "network", "resource": ", ".join(path.service.security_groups),
                         "status": status("network")})
    elif path.requested_service:
        hops.append({"hop": "service", "resource": path.requested_service, "status": status("service")})
    return hops


def needed_areas(playbook: Playbook) -> set[str]:
    """The snapshot areas the playbook's evaluators declare they read (with each entry's params)."""
    areas: set[str] = set()
    for e in playbook.entries:
        ev = REGISTRY.get(e.check.evaluator)
        if ev:
            areas |= set(ev.needs_for(e.params))
    return areas


def is_account_playbook(playbook: Playbook) -> bool:
    """True when the playbook's checks read the account-wide snapshot (``tortoise``): it needs no target.

    Account checks and request-path checks cannot share one playbook (one run collects one kind of snapshot)."""
    kinds = {"account" in (REGISTRY[e.check.evaluator].needs_for(e.params) if e.check.evaluator in REGISTRY else ())
             for e in playbook.entries}
    if kinds == {True, False}:
        from shine_ops.errors import UsageError

        raise UsageError(f"playbook {playbook.name!r} mixes account-wide checks with request-path checks",
                         hint="put the account checks (needs: account) in a playbook of their own")
    return kinds == {True}


def run_account(aws: Any, playbook: Playbook, settings: Settings | None = None,
                progress: Callable[[str], None] | None = None, suppressions: list[Any] | None = None) -> Report:
    """Run an account-wide playbook: collect the whole account and region, no request path."""
    from shine_ops.engine.suppress import apply_suppressions
    from shine_ops.topology.account import collect_account

    started = time.monotonic()
    snap = collect_account(aws, progress=progress)
    path = RequestPath(domain=None)
    findings = evaluate(playbook, Context(snapshot=snap, path=path, settings=settings or Settings()))
    notes = apply_suppressions(findings, suppressions or [])
    tgt = {"domain": None, "cluster": None, "service": None, "region": snap.region, "account": snap.account,
           "scope": "account"}
    hops = [{"hop": "account", "resource": f"{snap.account}/{snap.region}",
             "status": next((s for s in ("fail", "error", "warn", "pass") if any(f.status == s for f in findings)),
                            "skip")}]
    return Report(playbook=playbook.name, target=tgt, findings=findings, path=hops,
                  api_calls=aws.calls.to_json(), duration_s=time.monotonic() - started, snapshot=snap,
                  request_path=path, notes=notes)


def run(aws: Any, target: Target | None, playbook: Playbook, settings: Settings | None = None,
        progress: Callable[[str], None] | None = None,
        probes: Callable[[Snapshot, RequestPath], dict[str, Any]] | None = None,
        areas: set[str] | None = None, suppressions: list[Any] | None = None, source: Any = None) -> Report:
    """Collect the target's request path (from ``source`` when given: a read shared by many targets, see
    ``topology.shared``), evaluate the playbook and report."""
    if is_account_playbook(playbook):  # account-wide (tortoise): any target is beside the point
        return run_account(aws, playbook, settings, progress=progress, suppressions=suppressions)
    if target is None:
        from shine_ops.errors import UsageError

        raise UsageError("nothing to diagnose", hint="give --domain, or --cluster and --service")
    started = time.monotonic()
    collector = Collector(aws, areas=areas or needed_areas(playbook), progress=progress,
                          service_paths=settings.service_paths if settings else None, source=source)
    snap, path = collector.collect(target)
    ctx = Context(snapshot=snap, path=path, settings=settings or Settings(),
                  probes=probes(snap, path) if probes else {})
    findings = evaluate(playbook, ctx)
    from shine_ops.engine.suppress import apply_suppressions

    notes = apply_suppressions(findings, suppressions or [])
    if path.service_source == "only-candidate" and path.domain:
        notes.append(f"{path.domain} reaches no ECS service; diagnosing {path.service.key}, the only service "  # type: ignore[union-attr]
                     "behind another load balancer.")
    tgt = {"domain": path.domain or target.domain,
           "cluster": path.service.cluster_name if path.service else target.cluster,
           "service": path.service.name if path.service else target.service,
           "region": snap.region, "account": snap.account}
    return Report(playbook=playbook.name, target=tgt, findings=findings, path=path_hops(snap, path, findings),
                  api_calls=aws.calls.to_json(), duration_s=time.monotonic() - started, snapshot=snap,
                  request_path=path, notes=notes)


def load_catalogue(extra_dirs: list[str] | None = None) -> Catalogue:
    return Catalogue.load(extra_dirs)
