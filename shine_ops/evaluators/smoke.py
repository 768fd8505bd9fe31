"""Application hop: what live probes saw (the probes ran before evaluation; these stay pure)."""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip


def _from_probe(ctx: Context, check: str) -> Outcome:
    got = (ctx.probes.get("service") or {}).get(check)
    return got if got is not None else skip("No live probe ran for this check.")


@evaluator("smoke.health", hop="app")
def smoke_health(ctx: Context, params: dict) -> Outcome:
    """GET /health answers 200 JSON and /ready says ready, through the domain."""
    return _from_probe(ctx, "smoke.health")


@evaluator("smoke.face-detect", hop="app")
def smoke_face_detect(ctx: Context, params: dict) -> Outcome:
    """Face detection finds the one face of a known photo (opt-in: serves_reference_api)."""
    return _from_probe(ctx, "smoke.face-detect")


@evaluator("smoke.analyze", hop="app")
def smoke_analyze(ctx: Context, params: dict) -> Outcome:
    """The analysis endpoint answers with the documented ``result`` schema (opt-in: serves_reference_api)."""
    return _from_probe(ctx, "smoke.analyze")


@evaluator("cors.allows-frontend-origin", hop="app")
def cors_allows_frontend_origin(ctx: Context, params: dict) -> Outcome:
    """A CORS preflight from the first of ``frontend_origins`` is allowed (skipped, naming the setting, when
    ``frontend_origins`` is not declared: no account evidence says which origins a front end uses)."""
    from shine_ops.probes.service import cors_undeclared

    undeclared = cors_undeclared(ctx.settings)
    got = (ctx.probes.get("service") or {}).get("cors.allows-frontend-origin")
    if undeclared is not None and (got is None or got.status == "skip"):
        return undeclared
    return _from_probe(ctx, "cors.allows-frontend-origin")
