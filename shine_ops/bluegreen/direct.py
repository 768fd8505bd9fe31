"""The gates of each step: the smoke tests through the domain, and straight against green."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from shine_ops.engine.finding import Finding, Outcome

# The request header that pins a request to one target group. The sandbox's load-balancer emulator honours it:
# its stand-in for reaching a task address inside the VPC (``shine_ops.sandbox.alb`` imports it from here).
PIN_HEADER = "X-Shine-Ops-Target-Group"


def direct_smoke(domain: str | None, settings: Any, sandbox_state: dict | None, tg_arn: str, targets: list,
                 timeout_s: float) -> list[Finding]:
    """The smoke tests straight against green, not through the listener: in the sandbox through the
    load-balancer emulator pinned to the green target group (its ``X-Shine-Ops-Target-Group`` header, the
    sandbox's stand-in for reaching a task address inside the VPC); elsewhere against each green target's
    address when it is reachable from here (skipped, saying so, when it is not)."""
    import requests

    from shine_ops.probes import smoke as S

    bases: list[tuple[str, dict]] = []
    if sandbox_state is not None:
        if not sandbox_state.get("alb_endpoint"):
            return [Finding.from_outcome("smoke.health", "green (direct)", "high",
                                         Outcome("skip", "This sandbox has no load-balancer emulator."))]
        bases.append((sandbox_state["alb_endpoint"], {"Host": domain or "", PIN_HEADER: tg_arn}))
    else:
        bases += [(f"http://{ip}:{port}", {}) for ip, port, _, _ in targets if port]
    out: list[Finding] = []
    for base, headers in bases:
        session = requests.Session()
        session.headers.update(headers)
        budget = S._Budget(timeout_s)
        try:
            health, reachable = S.check_health(session, base, budget)
            if not reachable and sandbox_state is None:
                out.append(Finding.from_outcome("smoke.health", f"green {base} (direct)", "high", Outcome(
                    "skip", f"{base} is not reachable from here (a task address inside the VPC): only the "
                            f"smoke through the domain gates this step.")))
                continue
            out.append(Finding.from_outcome("smoke.health", f"green {base} (direct)", "high", health))
            if reachable and settings.serves_reference_api:
                sample = S.load_sample()
                out.append(Finding.from_outcome("smoke.face-detect", f"green {base} (direct)", "high",
                                                S.check_face_detect(session, base, budget, sample)))
        finally:
            session.close()
    return out


def failing(findings: list[Finding]) -> list[Finding]:
    """The smoke findings that fail a gate: fail, error, and warn (a degraded /ready is a warn)."""
    return [f for f in findings if f.check.startswith("smoke.") and f.status in ("fail", "warn", "error")]


@dataclass
class Gates:
    """What gates each step: the smoke tests through the domain, and straight against green."""

    domain: Callable[[], list[Finding]]
    direct: Callable[[str, list], list[Finding]]


def failed_sentence(gate: str, bad: list[Finding]) -> str:
    """The sentence a failed gate leaves in the output and the journal: which smoke test, and what it saw."""
    return f"gate {gate}: " + "; ".join(f"{f.check} ({f.title}): {f.summary}" for f in bad)
