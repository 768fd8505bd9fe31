"""The deploy preflight checks, evaluated like any catalogue check over a snapshot (no AWS, no deploy)."""

from __future__ import annotations

from shine_ops.evaluators import REGISTRY
from tests.evaluators.builders import SVC_ARN, TD_ARN, TG_SVC
from tests.evaluators.builders_tg_ecs import build_tg_ecs


def run(check: str, ctx, params: dict | None = None):
    return REGISTRY[check].fn(ctx, params or {})


def _container(cmd: str | None, port: str | None = "8000", env: dict | None = None) -> dict:
    c = {"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}],
         "environment": [{"name": k, "value": v} for k, v in {**({"PORT": port} if port else {}), **(env or {})}.items()]}
    if cmd:
        c["healthCheck"] = {"command": ["CMD-SHELL", cmd]}
    return c


def test_deploy_container_health_matches_tg_passes_fails_and_skips_on_what_it_sees():
    ctx = build_tg_ecs(containers=[_container("curl -f http://localhost:8000/health || exit 1")])
    ctx.snapshot.target_groups[TG_SVC].health_check.path = "/health"
    assert run("deploy.container-health-matches-tg", ctx).status == "pass"

    ctx = build_tg_ecs(containers=[_container("curl -f http://localhost:8000/ready || exit 1")])
    ctx.snapshot.target_groups[TG_SVC].health_check.path = "/health"
    out = run("deploy.container-health-matches-tg", ctx)
    assert out.status == "fail" and "does not ask for /health" in out.summary and out.resources == [SVC_ARN]

    ctx = build_tg_ecs(containers=[_container("curl -f http://localhost:5000/health || exit 1")])
    ctx.snapshot.target_groups[TG_SVC].health_check.path = "/health"
    out = run("deploy.container-health-matches-tg", ctx)
    assert out.status == "fail" and "does not use its PORT 8000" in out.summary

    ctx = build_tg_ecs(containers=[_container(None)])  # nothing to compare: no container health check
    assert run("deploy.container-health-matches-tg", ctx).status == "skip"


def _memory_ctx(memory: str | None, *, uri: str = "s3://models/face/v3.keras", reference: bool = False):
    ctx = build_tg_ecs(containers=[_container(None, env={"MODEL_URI": uri} if uri else {})])
    if memory:
        ctx.snapshot.task_definitions[TD_ARN].raw["memory"] = memory
    ctx.settings.serves_reference_api = reference
    return ctx


def test_deploy_memory_covers_model_judges_the_card_deploy_read():
    card = {"card": {"runtime": {"min_memory_mib": 1024}}, "where": "s3://models/face/v3.card.json"}
    ctx = _memory_ctx("512")
    ctx.probes["model_card"] = card
    out = run("deploy.memory-covers-model", ctx)
    assert out.status == "fail" and "512 MiB" in out.summary and "1024 MiB" in out.summary
    assert out.resources == ["s3://models/face/v3.card.json"]

    ctx = _memory_ctx("2048")
    ctx.probes["model_card"] = card
    assert run("deploy.memory-covers-model", ctx).status == "pass"


def test_deploy_memory_covers_model_skips_without_evidence():
    ctx = _memory_ctx("512", uri="")  # no MODEL_URI and not the reference service: no model of ours
    assert "No MODEL_URI" in run("deploy.memory-covers-model", ctx).summary
    ctx = _memory_ctx("512")  # the card was never read (a plain diagnose): nothing to judge
    assert run("deploy.memory-covers-model", ctx).status == "skip"
    ctx = _memory_ctx("512")
    ctx.probes["model_card"] = {"card": None, "where": "s3://models/face/v3.card.json"}
    out = run("deploy.memory-covers-model", ctx)
    assert out.status == "skip" and out.summary == "No model card at s3://models/face/v3.card.json."
    ctx = _memory_ctx(None)
    ctx.probes["model_card"] = {"card": {"runtime": {"min_memory_mib": 1024}}, "where": "x"}
    assert run("deploy.memory-covers-model", ctx).summary == "The task definition states no memory figure."


def test_preflight_evaluates_the_catalogue_entries_on_the_would_be_revision():
    """deploy.preflight builds no finding by hand: the two deploy checks come from the catalogue, with its titles."""
    from types import SimpleNamespace

    from shine_ops.deploy import PREFLIGHT_CHECKS, preflight
    from shine_ops.engine.catalogue import Catalogue

    cat = Catalogue.load()
    ctx = build_tg_ecs(containers=[_container("curl -f http://localhost:8000/health || exit 1")])
    ctx.snapshot.target_groups[TG_SVC].health_check.path = "/health"
    report = SimpleNamespace(snapshot=ctx.snapshot, request_path=ctx.path)
    new_td = {**ctx.snapshot.task_definitions[TD_ARN].raw, "memory": "512"}
    findings = preflight(cat, report, ctx.settings, new_td)
    assert [f.check for f in findings] == PREFLIGHT_CHECKS
    by_id = {f.check: f for f in findings}
    assert by_id["deploy.container-health-matches-tg"].title == cat.checks["deploy.container-health-matches-tg"].title
    assert by_id["deploy.container-health-matches-tg"].status == "pass"
    assert by_id["deploy.memory-covers-model"].status == "skip"  # no MODEL_URI, not the reference service
