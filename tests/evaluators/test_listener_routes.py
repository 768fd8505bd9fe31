"""listener.routes-to-service with the ALB rule evaluator: shared load balancers (host, wildcard-host and header
rules) are neighbours, not faults; real shadowing of the service's own host and path fails; weights, auth actions
and unmodelled rule features; service_paths declared or not."""

from __future__ import annotations

from shine_ops.evaluators import REGISTRY
from shine_ops.topology.model import Rule
from tests.evaluators.builders import ACCT, LST, TG_OLD, TG_SVC, build

CHECK = "listener.routes-to-service"
TG_ADMIN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/admin/3"
TG_CANARY = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/canary/4"
DECLARED = ["/health", "/api/*"]


def run(ctx):
    return REGISTRY[CHECK].fn(ctx, {})


def add_rule(ctx, priority: int, conditions: list[dict], actions: list[dict], **extra) -> Rule:
    r = Rule.from_raw(LST, {"RuleArn": f"{LST}/r{priority}", "Priority": str(priority), "IsDefault": False,
                            "Conditions": conditions, "Actions": actions, **extra})
    ctx.snapshot.rules[LST].append(r)
    return r


def host(*v: str) -> dict:
    return {"Field": "host-header", "HostHeaderConfig": {"Values": list(v)}}


def paths(*v: str) -> dict:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(v)}}


def header(name: str, value: str) -> dict:
    return {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": name, "Values": [value]}}


def fwd(tg: str, order: int | None = None) -> dict:
    return {"Type": "forward", "TargetGroupArn": tg} | ({"Order": order} if order else {})


OIDC = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {"Issuer": "https://idp.example.com"}}


def shared_alb(service_paths: list[str] | None = None):
    """api.example.com beside admin.example.com, a *.example.com wildcard behind the exact host rule, and an
    X-Canary header rule; the default action goes to another group."""
    ctx = build(default_tg=TG_OLD)
    ctx.settings.service_paths = service_paths
    add_rule(ctx, 10, [host("admin.example.com")], [fwd(TG_ADMIN)])
    add_rule(ctx, 20, [header("X-Canary", "1")], [fwd(TG_CANARY)])
    add_rule(ctx, 30, [host("api.example.com")], [fwd(TG_SVC)])
    add_rule(ctx, 40, [host("*.example.com")], [fwd(TG_OLD)])
    return ctx


def test_shared_alb_neighbours_are_not_faults_undeclared():
    out = run(shared_alb())
    assert out.status == "pass", out.summary
    assert "GET api.example.com/" in out.summary
    assert "service_paths was not declared" in out.summary and "judged /" in out.summary
    assert any("priority 10" in n for n in out.evidence["neighbour_rules"])
    [route] = out.evidence["routes"]
    assert route["rule"].startswith("priority 30") and route["verdict"] == "reaches"
    assert any("priority 20" in n and "http-header" in n for n in route["notes"])  # the header rule, explained


def test_shared_alb_neighbours_are_not_faults_declared():
    out = run(shared_alb(DECLARED))
    assert out.status == "pass", out.summary
    assert "not declared" not in out.summary
    assert {r["path"] for r in out.evidence["routes"]} == {"/health", "/api/shine-ops-probe"}


def test_host_rule_for_the_domain_itself_shadows_a_declared_path():
    ctx = build(default_tg=TG_SVC)
    ctx.settings.service_paths = DECLARED
    add_rule(ctx, 5, [host("api.example.com"), paths("/api/*")], [fwd(TG_OLD)])
    out = run(ctx)
    assert out.status == "fail"
    assert "GET api.example.com/api/shine-ops-probe -> priority 5" in out.summary
    assert f"{LST}/r5" in out.resources and TG_OLD in out.resources


def test_shadowing_of_the_domains_own_rule_fails_undeclared():
    ctx = build(default_tg=TG_SVC)
    add_rule(ctx, 5, [host("api.example.com"), paths("/api/*")], [fwd(TG_OLD)])
    add_rule(ctx, 200, [paths("/api/*")], [fwd(TG_SVC)])
    out = run(ctx)
    assert out.status == "fail" and "shadows priority 200" in out.summary
    assert "service_paths was not declared" in out.summary


def test_the_same_rule_for_another_host_is_a_neighbour():
    ctx = build(default_tg=TG_SVC)
    ctx.settings.service_paths = DECLARED
    add_rule(ctx, 5, [host("admin.example.com"), paths("/api/*")], [fwd(TG_OLD)])
    assert run(ctx).status == "pass"


def test_header_rule_ahead_does_not_shadow_plain_requests():
    ctx = build(default_tg=TG_SVC)
    ctx.settings.service_paths = DECLARED
    add_rule(ctx, 1, [header("X-Canary", "1"), paths("/api/*")], [fwd(TG_CANARY)])
    assert run(ctx).status == "pass"


def test_plain_get_slash_elsewhere_undeclared_is_a_warning_naming_the_setting():
    # the incident's layout without declarations: /health reaches the service, / goes to the legacy group
    ctx = build(default_tg=TG_OLD, rules=[(200, ["/health"], TG_SVC)])
    out = run(ctx)
    assert out.status == "warn", out.summary
    assert "GET api.example.com/ -> default action -> forward to old" in out.summary
    assert "service_paths" in out.summary
    assert {r["path"]: r["verdict"] for r in out.evidence["routes"]} == {"/": "elsewhere", "/health": "reaches"}


def test_no_request_of_the_domain_reaches_the_service_fails():
    ctx = build(default_tg=TG_OLD)
    add_rule(ctx, 10, [host("admin.example.com")], [fwd(TG_SVC)])  # the service only serves another host
    out = run(ctx)
    assert out.status == "fail" and "no rule for api.example.com forwards to the service" in out.summary


def test_service_reached_only_with_a_header_is_a_warning():
    ctx = build(default_tg=TG_OLD)
    add_rule(ctx, 10, [header("X-Canary", "1")], [fwd(TG_SVC)])
    out = run(ctx)
    assert out.status == "warn", out.summary
    assert "priority 10 (http-header X-Canary=1): http-header condition does not match a plain request" in out.summary


def test_weighted_forward_weight_zero_gets_no_traffic():
    ctx = build(default_tg=TG_SVC)
    lst = ctx.snapshot.listeners[LST]
    weighted = {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG_SVC, "Weight": 1},
                                                                      {"TargetGroupArn": TG_OLD, "Weight": 0}]}}
    lst.raw["DefaultActions"] = [weighted]
    ctx.snapshot.rules[LST] = [Rule.from_raw(LST, {"RuleArn": f"{LST}/default", "Priority": "default",
                                                   "IsDefault": True, "Conditions": [], "Actions": [weighted]})]
    assert run(ctx).status == "pass"
    flipped = {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG_SVC, "Weight": 0},
                                                                     {"TargetGroupArn": TG_OLD, "Weight": 1}]}}
    ctx.snapshot.rules[LST] = [Rule.from_raw(LST, {"RuleArn": f"{LST}/default", "Priority": "default",
                                                   "IsDefault": True, "Conditions": [], "Actions": [flipped]})]
    ctx.settings.service_paths = DECLARED
    out = run(ctx)
    assert out.status == "fail" and "svc (0)" in out.summary


def test_authenticate_oidc_before_the_forward_passes():
    ctx = build(default_tg=TG_OLD)
    add_rule(ctx, 10, [host("api.example.com")], [OIDC, fwd(TG_SVC, 2)])
    out = run(ctx)
    assert out.status == "pass", out.summary
    assert out.evidence["routes"][0]["action"] == "authenticate-oidc, then forward to svc"


def test_unjudgeable_rule_on_the_way_warns_naming_it():
    ctx = build(default_tg=TG_SVC)
    ctx.settings.service_paths = DECLARED
    add_rule(ctx, 5, [{"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["^/api/v[0-9]+/.*$"]}}],
             [fwd(TG_OLD)])
    out = run(ctx)
    assert out.status == "warn"
    assert "Cannot judge" in out.summary and "priority 5" in out.summary and "RegexValues" in out.summary
    assert out.evidence["cannot_judge"]


def test_unjudgeable_rule_for_another_host_does_not_matter():
    ctx = build(default_tg=TG_SVC)
    add_rule(ctx, 5, [host("admin.example.com"), {"Field": "path-pattern", "RegexValues": [".*"]}], [fwd(TG_OLD)])
    assert run(ctx).status == "pass"


def test_jwt_validation_and_transforms_on_the_deciding_rule_warn():
    ctx = build(default_tg=TG_OLD)
    add_rule(ctx, 10, [host("api.example.com")],
             [{"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": {}}, fwd(TG_SVC, 2)])
    out = run(ctx)
    assert out.status == "warn" and "jwt-validation" in out.summary
    ctx = build(default_tg=TG_OLD)
    add_rule(ctx, 10, [host("api.example.com")], [fwd(TG_SVC)],
             Transforms=[{"Type": "host-header-rewrite", "HostHeaderRewriteConfig": {}}])
    out = run(ctx)
    assert out.status == "warn" and "Transforms" in out.summary and "host-header-rewrite" in out.summary
