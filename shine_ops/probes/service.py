"""Live probes of the service behind the domain, for ``diagnose``: the smoke checks, within one budget.

Posting images to someone's production is opt-in (``serves_reference_api: true``); CORS is probed for the
first of ``frontend_origins``. In the sandbox the probes go to its load-balancer emulator with the domain as
Host header, and every outcome is marked simulated, with the route the emulator took.
"""

from __future__ import annotations

from typing import Any

from shine_ops.engine.finding import Outcome

SMOKE_CHECKS = ("smoke.health", "smoke.face-detect", "smoke.analyze", "cors.allows-frontend-origin")
CORS = "cors.allows-frontend-origin"


def cors_undeclared(settings: Any) -> Outcome | None:
    """The CORS check's skip when no front-end origin is declared, else None.

    Which origins a browser front end calls the API from is a fact about the app, not about the account: nothing
    in AWS says it, so without ``frontend_origins`` there is nothing to judge (and no probe is sent)."""
    origins = getattr(settings, "frontend_origins", None)
    if origins is None:
        return Outcome("skip", "frontend_origins is not declared: CORS not checked. Declare frontend_origins (the "
                               "origins your web front end calls this API from) in shine-ops.yaml to check that a "
                               "browser preflight from them is allowed.")
    if not origins:
        return Outcome("skip", "frontend_origins is declared empty (no browser front end): CORS not checked.")
    return None


def probe_service(domain: str | None, settings: Any, *, timeout_s: float = 10.0, enabled: bool = True,
                  sandbox_state: dict | None = None) -> dict[str, Outcome]:
    """(check id -> Outcome) for the smoke checks; skips say why a probe did not run (CORS first names an
    undeclared ``frontend_origins``: declaring it is what the user must do before any probe could help)."""
    out = _probe_service(domain, settings, timeout_s=timeout_s, enabled=enabled, sandbox_state=sandbox_state)
    undeclared = cors_undeclared(settings)
    if undeclared is not None:
        out[CORS] = undeclared
    return out


def _probe_service(domain: str | None, settings: Any, *, timeout_s: float, enabled: bool,
                   sandbox_state: dict | None) -> dict[str, Outcome]:
    if not enabled:
        return {c: Outcome("skip", "Live probes are off (--no-probe).") for c in SMOKE_CHECKS}
    if not domain:
        return {c: Outcome("skip", "No domain to probe.") for c in SMOKE_CHECKS}
    simulated = sandbox_state is not None
    if simulated and not sandbox_state.get("alb_endpoint"):
        return {c: Outcome("skip", "This sandbox has no load-balancer emulator.") for c in SMOKE_CHECKS}
    if simulated and sandbox_state.get("service_runner") != "running":
        why = f"The sandbox runs no service process: {sandbox_state.get('service_runner')}."
        return {c: Outcome("skip", why) for c in SMOKE_CHECKS}

    import requests

    from shine_ops.probes import smoke as S

    base = sandbox_state["alb_endpoint"] if simulated else f"https://{domain}"
    session = requests.Session()
    routes: list[str] = []
    if simulated:
        session.headers["Host"] = domain
        session.hooks["response"].append(
            lambda r, *a, **k: routes.append(r.headers.get("X-Shine-Ops-Simulated", "")))
    budget = S._Budget(timeout_s)
    out: dict[str, Outcome] = {}
    try:
        health, reachable = S.check_health(session, base, budget)
        out["smoke.health"] = health
        if not reachable:
            for c in SMOKE_CHECKS[1:]:
                out[c] = Outcome("skip", "The service could not be reached (see smoke.health).")
        else:
            if settings.serves_reference_api:
                sample = S.load_sample()
                out["smoke.face-detect"] = S.check_face_detect(session, base, budget, sample)
                out["smoke.analyze"] = S.check_analyze(session, base, budget, sample)
            else:
                for c in ("smoke.face-detect", "smoke.analyze"):
                    out[c] = Outcome("skip", "Not probed: set serves_reference_api: true in shine-ops.yaml to let "
                                             "shine-ops post a test photo to this service.")
            origins = settings.frontend_origins
            if origins:  # undeclared: probe_service names the setting
                out[CORS] = S.check_cors(session, base, budget, origins[0])
    finally:
        session.close()
    if simulated:
        route = next((r for r in reversed(routes) if r), "")
        for o in out.values():
            if o.status != "skip":
                o.evidence["simulated"] = True
                o.evidence["simulated_route"] = route
    return out
