"""``fix alb-ecs --apply --wait``: after the configuration verified, wait (bounded) until traffic is green.

Verification judges only the configuration a fix changed: AWS turns targets healthy over ``interval x healthy
threshold`` (docs/aws-behaviour.md section 4), so "verified" right after a fix says nothing about traffic. This waits
until ``tg.targets-healthy`` passes and, with live probes on, ``smoke.health`` passes through the domain; it
reports the time to green, or at the deadline what is still not green. It never rolls anything back: a change
that verified is right even while health converges (``fix``'s documented exit codes).

Reads only: each round collects again and runs just these checks (``shine_ops.engine.runner.run``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

TRAFFIC_CHECK = "tg.targets-healthy"
PROBE_CHECK = "smoke.health"
DEFAULT_WAIT_S = 300.0
INTERVAL_S = 2.0
HEARTBEAT_S = 15.0  # a progress line at least this often, even when nothing changed


@dataclass
class WaitResult:
    """``green`` with the seconds it took, or the checks still not green at the deadline (check -> words)."""

    green: bool
    elapsed_s: float
    not_green: dict[str, str] = field(default_factory=dict)
    not_judged: dict[str, str] = field(default_factory=dict)  # probes that could not run (skip): not waited for
    checks: list[str] = field(default_factory=list)  # what was waited on

    @property
    def exit_code(self) -> int:
        return 0 if self.green else 1


def traffic_checks(probes_on: bool) -> list[str]:
    """The checks that say traffic flows: healthy targets, and the live health probe when probes are on."""
    return [TRAFFIC_CHECK] + ([PROBE_CHECK] if probes_on else [])


def playbook_of(catalogue: Any, checks: list[str]) -> Any:
    """A playbook of just these checks, as the catalogue defines them."""
    from shine_ops.engine.catalogue import Playbook, PlaybookEntry

    return Playbook(name="wait-for-traffic", description="", entries=[
        PlaybookEntry(check=catalogue.checks[c], severity=catalogue.checks[c].severity,
                      params=catalogue.checks[c].params) for c in checks])


def run_traffic_checks(aws: Any, target: Any, settings: Any, catalogue: Any, probes: Callable | None,
                       checks: list[str]) -> dict[str, Any]:
    """Collect again and run the traffic checks: check id -> Finding."""
    from shine_ops.engine.runner import run

    report = run(aws, target, playbook_of(catalogue, checks), settings, probes=probes)
    return {f.check: f for f in report.findings}


def wait_for_traffic(evaluate: Callable[[], dict[str, Any]], *, timeout_s: float, say: Callable[[str], None],
                     interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> WaitResult:
    """Evaluate the traffic checks every ``interval_s`` until all pass or ``timeout_s`` runs out.

    Progress goes to ``say`` (stderr): a line whenever a check's state changes, and a heartbeat otherwise. A
    live probe that is ``skip`` (it cannot run here) is named and not waited for; every other state (``warn`` for
    targets still ``initial``, ``fail``, ``error``, a target check that saw no service) is waited on."""
    start = clock()
    deadline = start + timeout_s
    last: dict[str, str] = {}
    last_said = start
    findings: dict[str, Any] = {}
    while True:
        findings = evaluate()
        now = clock()
        waiting = {c: f for c, f in findings.items()
                   if f.status != "pass" and not (f.status == "skip" and c == PROBE_CHECK)}
        states = {c: f.status for c, f in findings.items()}
        if states != last or now - last_said >= HEARTBEAT_S:
            say(f"waiting for traffic ({now - start:.0f} s): "
                + "; ".join(f"{c} {f.status}" + ("" if f.status == "pass" else f": {f.summary}")
                            for c, f in findings.items()))
            last, last_said = states, now
        skipped = {c: f.summary for c, f in findings.items() if f.status == "skip" and c not in waiting}
        if not waiting:
            return WaitResult(True, now - start, not_judged=skipped, checks=list(findings))
        if now >= deadline:
            return WaitResult(False, now - start, not_green={c: f"{f.status}: {f.summary}" for c, f in waiting.items()},
                              not_judged=skipped, checks=list(findings))
        sleep(max(0.0, min(interval_s, deadline - now)))


def report_lines(result: WaitResult, timeout_s: float) -> list[str]:
    """What ``fix`` prints after waiting (stdout): the time to green, or what is still not green."""
    from shine_ops.watch import duration

    lines = [f"note: {c} not waited for: {why}" for c, why in result.not_judged.items()]
    if result.green:
        return lines + [f"green after {duration(result.elapsed_s)}: traffic reaches healthy targets"
                        + (" and the live health check passes through the domain"
                           if PROBE_CHECK in result.checks and PROBE_CHECK not in result.not_judged else "")]
    lines.append(f"not green after {duration(timeout_s)} (--wait-timeout): the changes that verified are kept; "
                 "still not green:")
    lines += [f"  {c} {why}" for c, why in result.not_green.items()]
    return lines
