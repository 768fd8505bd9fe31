"""The report's ``path`` lists the hops the evaluators declare, the registered targets among them."""

from __future__ import annotations

from shine_ops.engine.runner import evaluate, load_catalogue, path_hops
from tests.evaluators.builders_tg_ecs import build_tg_ecs, target


def test_path_has_a_targets_hop_between_target_group_and_service_with_the_targets_checks_status():
    ctx = build_tg_ecs(targets=[target("10.0.1.10"), target("10.0.1.11", "unhealthy", "Target.Timeout")])
    findings = evaluate(load_catalogue().load_playbook("snail-trail"), ctx)
    hops = path_hops(ctx.snapshot, ctx.path, findings)
    names = [h["hop"] for h in hops]
    assert names.index("target_group") < names.index("targets") < names.index("service")
    tgt = hops[names.index("targets")]
    assert tgt["resource"] == "10.0.1.10:8000, 10.0.1.11:8000"
    healthy = next(f for f in findings if f.check == "tg.targets-healthy")
    assert healthy.status in ("fail", "warn") and tgt["status"] == healthy.status  # an unhealthy target shows here
    assert {f.check for f in findings if f.hop == "targets"} == {"tg.targets-registered", "tg.targets-healthy"}
