"""alb.idle-timeout-covers-latency and its fix alb.set-idle-timeout as pure functions of the snapshot.

With latency_budget_s declared the timeout is judged against it; without it, against CloudWatch's evidence
(ELB 504s beside the slowest TargetResponseTime), and without evidence the check skips naming the setting."""

from __future__ import annotations

from shine_ops.engine.finding import Finding
from shine_ops.evaluators import REGISTRY, Settings
from shine_ops.fixes import PlanContext, load_fixes
from shine_ops.topology.metrics import LbMetrics
from tests.evaluators.builders import LB_ARN, LEGACY_ARN
from tests.evaluators.builders_alb import build_alb

CHECK = "alb.idle-timeout-covers-latency"


def run(ctx, params: dict | None = None):
    return REGISTRY[CHECK].fn(ctx, params or {})


def declared(budget, **kw):
    ctx = build_alb(**kw)
    ctx.settings = Settings(latency_budget_s=budget)
    return ctx


def observed(timeout: str | None = None, *, elb_504: float | None = None, slowest: float | None = None,
             responses: float | None = None, error: str | None = None, denied: str | None = None):
    """Undeclared budget; CloudWatch recorded these figures for the service's load balancer over 3 h."""
    ctx = build_alb(attributes={"idle_timeout.timeout_seconds": timeout} if timeout else {})
    ctx.snapshot.lb_metrics[LB_ARN] = LbMetrics(window_h=3, period_s=300, elb_504=elb_504, response_max_s=slowest,
                                                responses=responses, error=error, denied_action=denied)
    ctx.snapshot.lb_metrics[LEGACY_ARN] = LbMetrics(window_h=3, period_s=300)
    return ctx


def plan(ctx):
    out = run(ctx)
    finding = Finding.from_outcome(CHECK, "t", "medium", out, fix="alb.set-idle-timeout", hop="load_balancer")
    return out, load_fixes()["alb.set-idle-timeout"].plan(PlanContext(ctx=ctx, findings={CHECK: finding}))


# --------------------------------------------------------------------------- declared latency_budget_s
def test_declared_budget_within_the_aws_default_passes():
    out = run(declared(30, attributes={}))
    assert out.status == "pass" and "60 s (AWS default; attribute not set)" in out.summary
    row = out.evidence["load_balancers"][0]
    assert row["idle_timeout_s"] == 60 and row["source"].startswith("AWS default") and row["raw"] is None


def test_declared_budget_above_the_timeout_fails_naming_both():
    out = run(declared(30, attributes={"idle_timeout.timeout_seconds": "15"}))
    assert out.status == "fail" and out.resources == [LB_ARN]
    assert "prod closes connections idle for 15 s, less than the 30 s" in out.summary and "504" in out.summary
    assert "latency_budget_s" in out.summary
    assert out.evidence["load_balancers"][0]["source"] == "attribute idle_timeout.timeout_seconds"


def test_declared_budget_equal_to_the_timeout_passes():
    assert run(declared(30, attributes={"idle_timeout.timeout_seconds": "30"})).status == "pass"


def test_declared_budget_longer_than_the_default_fails():
    out = run(declared(90))
    assert out.status == "fail" and "60 s" in out.summary and "90 s" in out.summary
    assert "AWS default" in out.actual


def test_declared_budget_unreadable_timeout_fails():
    out = run(declared(30, attributes={"idle_timeout.timeout_seconds": "soon"}))
    assert out.status == "fail" and "'soon'" in out.summary


def test_declared_budget_judges_every_path_load_balancer():
    ctx = declared(30, alias_to="legacy", attributes={"idle_timeout.timeout_seconds": "120"})
    ctx.snapshot.load_balancers[LEGACY_ARN].attributes = {"idle_timeout.timeout_seconds": "10"}
    out = run(ctx)
    assert out.status == "warn" and "legacy closes connections idle for 10 s" in out.summary
    assert set(out.resources) == {LB_ARN, LEGACY_ARN}
    ctx.snapshot.load_balancers[LB_ARN].attributes = {"idle_timeout.timeout_seconds": "20"}
    out = run(ctx)
    assert out.status == "fail" and out.summary.startswith("Load balancer prod closes connections idle for 20 s")


def test_declared_budget_without_service_judges_the_record_load_balancer():
    ctx = declared(30, alias_to="legacy")
    ctx.snapshot.load_balancers[LEGACY_ARN].attributes = {"idle_timeout.timeout_seconds": "10"}
    ctx.path.service = None
    out = run(ctx)
    assert out.status == "fail" and "legacy" in out.summary


def test_skips_when_not_collected_or_network_lb():
    ctx = build_alb()
    ctx.snapshot.load_balancers[LB_ARN].attributes = None
    assert run(ctx).status == "skip"
    out = run(build_alb(lb_type="network"))
    assert out.status == "skip" and "network load balancers" in out.summary


# --------------------------------------------------------------------------- undeclared: CloudWatch evidence
def test_undeclared_504s_with_the_slowest_response_at_the_timeout_fail_naming_the_figures():
    out = run(observed("15", elb_504=37, slowest=14.8, responses=900))
    assert out.status == "fail" and out.resources == [LB_ARN]
    assert "prod answered 37 request(s) with its own 504 in the last 3 h" in out.summary
    assert "slowest target response took 14.8 s" in out.summary and "15 s idle timeout" in out.summary
    assert "latency_budget_s is not declared" in out.summary
    assert out.evidence["latency_budget_s"] is None and out.evidence["findings"] == {"prod": "cut"}


def test_undeclared_the_aws_default_is_judged_only_by_evidence():
    out = run(observed(None, elb_504=4, slowest=59.2))
    assert out.status == "fail" and "60 s (the AWS default) idle timeout" in out.summary
    out = run(observed(None, slowest=12.0, responses=50))
    assert out.status == "pass"


def test_undeclared_no_504s_pass_on_evidence_and_name_the_setting():
    out = run(observed("15", slowest=14.9, responses=1200))
    assert out.status == "pass"
    assert "prod: no request was cut in the last 3 h (1200 answered, slowest 14.9 s, idle timeout 15 s)" in out.summary
    assert "declare latency_budget_s" in out.summary


def test_undeclared_504s_far_below_the_timeout_come_from_elsewhere():
    out = run(observed("60", elb_504=12, slowest=2.5, responses=300))
    assert out.status == "pass"
    assert "12 ELB 504(s) come from elsewhere" in out.summary and "sg.alb-to-task-ingress" in out.summary


def test_undeclared_504s_without_any_answered_request_warn():
    out = run(observed("60", elb_504=12))
    assert out.status == "warn" and "cannot tell" in out.summary and "latency_budget_s" in out.summary


def test_undeclared_without_metrics_skips_naming_the_setting():
    out = run(observed("15"))  # moto: no datapoint at all
    assert out.status == "skip" and "latency_budget_s is not declared" in out.summary
    assert "CloudWatch recorded no request in the last 3 h" in out.summary
    ctx = build_alb(attributes={"idle_timeout.timeout_seconds": "15"})  # area not collected
    out = run(ctx)
    assert out.status == "skip" and "not collected" in out.summary and "latency_budget_s" in out.summary


def test_undeclared_unreadable_metrics_skip_naming_the_permission_and_the_setting():
    out = run(observed("15", error="cloudwatch.GetMetricData failed: AccessDenied", denied="cloudwatch:GetMetricData"))
    assert out.status == "skip"
    assert "could not read its CloudWatch metrics (grant cloudwatch:GetMetricData)" in out.summary
    assert "latency_budget_s" in out.summary


def test_undeclared_evidence_on_the_legacy_load_balancer_is_a_warning():
    ctx = build_alb(alias_to="legacy", attributes={"idle_timeout.timeout_seconds": "120"})
    ctx.snapshot.load_balancers[LEGACY_ARN].attributes = {"idle_timeout.timeout_seconds": "10"}
    ctx.snapshot.lb_metrics[LEGACY_ARN] = LbMetrics(window_h=3, period_s=300, elb_504=3, response_max_s=9.9)
    ctx.snapshot.lb_metrics[LB_ARN] = LbMetrics(window_h=3, period_s=300, response_max_s=1.0, responses=10)
    out = run(ctx)
    assert out.status == "warn" and "legacy answered 3 request(s)" in out.summary


# --------------------------------------------------------------------------- alb.set-idle-timeout
def test_fix_from_the_declared_budget():
    out, fp = plan(declared(30, attributes={"idle_timeout.timeout_seconds": "15"}))
    assert out.status == "fail" and fp is not None and len(fp.changes) == 1
    ch = fp.changes[0]
    assert ch.call.params["Attributes"] == [{"Key": "idle_timeout.timeout_seconds", "Value": "60"}]
    assert "declared latency_budget_s 30 s" in ch.description and "15 s" in ch.description
    out, fp = plan(declared(90, attributes={"idle_timeout.timeout_seconds": "15"}))
    assert fp.changes[0].after["idle_timeout.timeout_seconds"] == "120"


def test_fix_from_the_evidence_names_it():
    out, fp = plan(observed("15", elb_504=37, slowest=14.8, responses=900))
    assert out.status == "fail" and fp is not None
    ch = fp.changes[0]
    assert ch.after["idle_timeout.timeout_seconds"] == "45"  # 15 s observed + 30 s (at least twice the slowest)
    assert "37 ELB 504(s)" in ch.description and "14.8 s" in ch.description
    assert "latency_budget_s" in ch.description
    out, fp = plan(observed("3600", elb_504=2, slowest=3500.0))
    assert fp.changes[0].after["idle_timeout.timeout_seconds"] == "4000"  # AWS's upper bound


def test_fix_after_the_evidence_fix_the_check_passes():
    ctx = observed("15", elb_504=37, slowest=14.8, responses=900)
    _, fp = plan(ctx)
    ctx.snapshot.load_balancers[LB_ARN].attributes = {"idle_timeout.timeout_seconds": fp.changes[0].after[
        "idle_timeout.timeout_seconds"]}
    assert run(ctx).status == "pass"  # the same metrics no longer reach the new timeout: verification holds


def test_fix_plans_nothing_without_a_failing_finding_or_a_value():
    for ctx in (observed("15"), observed("15", slowest=14.9, responses=10), observed("60", elb_504=9, slowest=2.0),
                declared(30, attributes={}), build_alb(attributes={"idle_timeout.timeout_seconds": "1"})):
        out, fp = plan(ctx)
        assert out.status != "fail" and fp is None, out.summary
