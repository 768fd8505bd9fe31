"""The target-group and ECS task checks as pure functions: the healthy wiring passes, each recorded fault fails."""

from __future__ import annotations

from shine_ops.engine.catalogue import Catalogue
from shine_ops.evaluators import REGISTRY
from shine_ops.evaluators.targetgroup import TARGET_REASONS
from tests.evaluators.builders import SVC_ARN, TD_ARN, TG_SVC
from tests.evaluators.builders_tg_ecs import build_tg_ecs, target, task_raw

MINE = ["tg.health-check-matches-app", "tg.targets-registered", "tg.targets-healthy",
        "ecs.lb-container-matches-taskdef", "ecs.port-env-matches-container", "ecs.grace-period-covers-startup",
        "ecs.tasks-not-crashing"]


def run(check: str, ctx, params: dict | None = None):
    return REGISTRY[check].fn(ctx, params or {})


def test_every_tg_ecs_check_passes_on_the_healthy_wiring():
    ctx = build_tg_ecs(grace=120)
    for check in MINE:
        out = run(check, ctx)
        assert out.status == "pass", (check, out.summary)


def test_tg_ecs_checks_skip_without_a_service():
    ctx = build_tg_ecs()
    ctx.path.service = None
    for check in MINE:
        assert run(check, ctx).status == "skip", check


# --------------------------------------------------------------------------- tg.targets-registered
def test_tg_targets_registered_names_the_stale_target():
    ctx = build_tg_ecs(targets=[target("10.0.1.10"), target("10.0.1.11"),
                                target("172.31.14.122", "unhealthy", "Target.Timeout")])
    out = run("tg.targets-registered", ctx)
    assert out.status == "fail"
    assert "172.31.14.122:8000" in out.summary and "svc" in out.summary
    assert "172.31.14.122" in out.resources and TG_SVC in out.resources
    assert out.evidence["target_groups"][0]["stale"] == ["172.31.14.122"]


def test_tg_targets_registered_names_the_missing_task():
    ctx = build_tg_ecs(targets=[target("10.0.1.10")])
    out = run("tg.targets-registered", ctx)
    assert out.status == "fail" and "10.0.1.11" in out.summary and "not registered" in out.summary
    assert any(r.endswith("/t2") for r in out.resources)


def test_tg_targets_registered_ignores_stopped_tasks_draining_targets_and_pending_tasks():
    tasks = [task_raw(1, "10.0.1.10"), task_raw(2, "10.0.1.11"),
             task_raw(3, "10.0.1.12", last="STOPPED", desired="STOPPED", reason="Scaling activity"),
             task_raw(4, "10.0.1.13", last="PROVISIONING"),
             task_raw(5, "10.0.9.9", group="service:other")]  # another service's task in the same cluster
    ctx = build_tg_ecs(tasks=tasks, targets=[target("10.0.1.10"), target("10.0.1.11"),
                                             target("10.0.1.12", "draining", "Target.DeregistrationInProgress")])
    assert run("tg.targets-registered", ctx).status == "pass"
    # a registered address whose task has stopped is stale
    ctx = build_tg_ecs(tasks=tasks, targets=[target("10.0.1.10"), target("10.0.1.11"), target("10.0.1.12")])
    out = run("tg.targets-registered", ctx)
    assert out.status == "fail" and "10.0.1.12" in out.resources
    # another service's task address registered here is stale too
    ctx = build_tg_ecs(tasks=tasks, targets=[target("10.0.1.10"), target("10.0.1.11"), target("10.0.9.9")])
    assert run("tg.targets-registered", ctx).status == "fail"


def test_tg_targets_registered_marks_simulated_and_skips_uncollected():
    ctx = build_tg_ecs(targets=[target("10.0.1.10", description="[simulated] healthy"),
                                target("10.0.1.11", description="[simulated] healthy")])
    out = run("tg.targets-registered", ctx)
    assert out.status == "pass" and out.evidence["simulated"] is True
    ctx.snapshot.target_groups[TG_SVC].targets = None
    assert run("tg.targets-registered", ctx).status == "skip"


# --------------------------------------------------------------------------- tg.targets-healthy
def test_tg_targets_healthy_explains_the_reason_code_and_marks_simulated():
    ctx = build_tg_ecs(targets=[
        target("10.0.1.10", "unhealthy", "Target.Timeout", "[simulated] Request timed out"),
        target("10.0.1.11", "healthy", None, "[simulated] healthy")])
    out = run("tg.targets-healthy", ctx)
    assert out.status == "fail"
    assert "1 of 2 target(s) of svc is unhealthy (Target.Timeout)" in out.summary
    assert "security group" in out.summary
    assert out.evidence["simulated"] is True
    assert "sg.alb-to-task-ingress" in out.evidence["likely_causes"]
    assert out.resources == [TG_SVC]


def test_tg_targets_healthy_every_documented_reason_has_words_and_links():
    for reason in ("Target.Timeout", "Target.ResponseCodeMismatch", "Target.FailedHealthChecks", "Target.NotInUse",
                   "Target.NotRegistered", "Target.InvalidState", "Target.DeregistrationInProgress",
                   "Elb.InitialHealthChecking"):
        words, causes = TARGET_REASONS[reason]
        assert words and causes, reason
    out = run("tg.targets-healthy", build_tg_ecs(targets=[target("10.0.1.10", "unhealthy",
                                                                   "Target.ResponseCodeMismatch")]))
    assert out.status == "fail" and "matcher" in out.summary
    assert out.evidence["likely_causes"] == ["tg.health-check-matches-app"]
    out = run("tg.targets-healthy", build_tg_ecs(targets=[target("10.0.1.10", "unused", "Target.NotInUse")]))
    assert out.status == "fail" and "listener.routes-to-service" in out.evidence["likely_causes"]


def test_tg_targets_healthy_links_every_cause_in_its_consequence_of():
    chk = Catalogue.load().checks["tg.targets-healthy"]
    for check in ("tg.port-matches-container", "sg.alb-to-task-ingress", "ecs.port-env-matches-container",
                  "tg.health-check-matches-app", "ecs.service-running", "listener.routes-to-service",
                  "ecs.lb-container-matches-taskdef", "tg.targets-registered"):
        assert check in chk.consequence_of, check
    # every cause a reason code points at (except the grace period, a slow-start hint) is a consequence link
    linked = {c for _w, causes in TARGET_REASONS.values() for c in causes} - {"ecs.grace-period-covers-startup"}
    assert linked <= set(chk.consequence_of)


def test_tg_targets_healthy_no_targets_fails_and_initial_warns():
    out = run("tg.targets-healthy", build_tg_ecs(targets=[]))
    assert out.status == "fail" and "no registered targets" in out.summary
    out = run("tg.targets-healthy", build_tg_ecs(targets=[target("10.0.1.10", "initial", "Elb.InitialHealthChecking")]))
    assert out.status == "warn" and "first health checks" in out.summary


# --------------------------------------------------------------------------- ecs.lb-container-matches-taskdef
def test_ecs_lb_container_matches_taskdef_fails_on_fm09_names():
    out = run("ecs.lb-container-matches-taskdef", build_tg_ecs(lb_container="api-gateway"))
    assert out.status == "fail"
    assert "container api-gateway" in out.summary and "has no such container (it has api)" in out.summary
    assert SVC_ARN in out.resources and TD_ARN in out.resources and TG_SVC in out.resources


def test_ecs_lb_container_matches_taskdef_fails_on_unmapped_port():
    out = run("ecs.lb-container-matches-taskdef", build_tg_ecs(lb_port=5000))
    assert out.status == "fail" and "api:5000" in out.summary and "8000" in out.summary


# --------------------------------------------------------------------------- ecs.port-env-matches-container
def test_ecs_port_env_matches_container_fails_on_port_5000_vs_8000():
    ctx = build_tg_ecs(containers=[{"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}],
                                    "environment": [{"name": "PORT", "value": "5000"}]}])
    out = run("ecs.port-env-matches-container", ctx)
    assert out.status == "fail"
    assert "PORT=5000" in out.summary and "8000" in out.summary and TD_ARN in out.resources


def test_ecs_port_env_matches_container_unset_and_garbage():
    ctx = build_tg_ecs(containers=[{"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}]}])
    assert run("ecs.port-env-matches-container", ctx).status == "skip"  # saw no PORT: nothing judged, no pass
    ctx = build_tg_ecs(containers=[{"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}],
                                    "environment": [{"name": "PORT", "value": "$PORT"}]}])
    assert run("ecs.port-env-matches-container", ctx).status == "fail"


def test_ecs_port_env_matches_container_checks_sidecars_against_their_own_ports():
    ctx = build_tg_ecs(containers=[
        {"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}],
         "environment": [{"name": "PORT", "value": "8000"}]},
        {"name": "metrics", "image": "m:1", "portMappings": [{"containerPort": 9100}],
         "environment": [{"name": "PORT", "value": "9100"}]}])
    assert run("ecs.port-env-matches-container", ctx).status == "pass"


# --------------------------------------------------------------------------- ecs.grace-period-covers-startup
def test_ecs_grace_period_covers_startup_absent_is_zero_against_a_declared_budget():
    ctx = build_tg_ecs()
    ctx.settings.startup_budget_s = 60
    out = run("ecs.grace-period-covers-startup", ctx)
    assert out.status == "fail" and "0 s" in out.summary and "60 s" in out.summary
    assert out.resources == [SVC_ARN] and "(not set)" in out.actual
    # undeclared (and no evidence of tasks killed while starting): never a failure
    assert run("ecs.grace-period-covers-startup", build_tg_ecs()).status == "pass"


def test_ecs_grace_period_covers_startup_budget_from_settings():
    ctx = build_tg_ecs(grace=90)
    ctx.settings.startup_budget_s = 60
    assert run("ecs.grace-period-covers-startup", ctx).status == "pass"
    ctx.settings.startup_budget_s = 120
    assert run("ecs.grace-period-covers-startup", ctx).status == "fail"
    ctx = build_tg_ecs(grace=90)
    ctx.path.service.load_balancers = []
    assert run("ecs.grace-period-covers-startup", ctx).status == "skip"


# --------------------------------------------------------------------------- ecs.tasks-not-crashing
def _stopped(n, reason, code=None, creason=None, stop_code=None):
    return task_raw(n, f"10.0.2.{n}", last="STOPPED", desired="STOPPED", reason=reason, stop_code=stop_code,
                    containers=[{"name": "api", "lastStatus": "STOPPED", "exitCode": code, "reason": creason}])


def test_ecs_tasks_not_crashing_oom_exit_137():
    tasks = [task_raw(1, "10.0.1.10"), task_raw(2, "10.0.1.11"),
             _stopped(3, "Essential container in task exited", 137,
                      "OutOfMemoryError: Container killed due to memory usage")]
    out = run("ecs.tasks-not-crashing", build_tg_ecs(tasks=tasks))
    assert out.status == "fail"
    assert "out of memory" in out.summary and "OutOfMemoryError" in out.summary and "exit 137" in out.summary
    assert SVC_ARN in out.resources and any(r.endswith("/t3") for r in out.resources)
    # exit 137 alone (no OOM text) still reads as a kill
    out = run("ecs.tasks-not-crashing", build_tg_ecs(tasks=[_stopped(3, "Essential container in task exited", 137)]))
    assert out.status == "fail" and "exit 137" in out.summary


def test_ecs_tasks_not_crashing_pull_secrets_exit_and_health_checks():
    cases = {
        "CannotPullContainerError: pull image manifest has been retried 5 time(s)": "image could not be pulled",
        "ResourceInitializationError: unable to pull secrets or registry auth": "secrets",
        "Task failed ELB health checks in (target-group arn:...)": "health checks failed",
        "Task failed container health checks": "own health check",
    }
    for reason, words in cases.items():
        out = run("ecs.tasks-not-crashing", build_tg_ecs(tasks=[_stopped(3, reason, None)]))
        assert out.status == "fail" and words in out.summary, (reason, out.summary)
    out = run("ecs.tasks-not-crashing", build_tg_ecs(tasks=[_stopped(3, "Essential container in task exited", 1)]))
    assert out.status == "fail" and "exited with code 1" in out.summary


def test_ecs_tasks_not_crashing_ordinary_stops_pass():
    tasks = [task_raw(1, "10.0.1.10"),
             _stopped(3, "Scaling activity initiated by (deployment ecs-svc/123)", 137,
                      stop_code="ServiceSchedulerInitiated"),
             _stopped(4, "Task stopped by user", 0, stop_code="UserInitiated"),
             task_raw(5, "10.0.2.5", last="STOPPED", desired="RUNNING", reason="")]  # an emulator's bare stop
    out = run("ecs.tasks-not-crashing", build_tg_ecs(tasks=tasks))
    assert out.status == "pass" and "3 stopped for ordinary reasons" in out.summary


def test_ecs_tasks_not_crashing_reads_events_since_the_last_steady_state():
    ctx = build_tg_ecs(events=["(service api) (task abc) failed container health checks.",
                               "(service api) has started 1 tasks: (task abc)."])
    out = run("ecs.tasks-not-crashing", ctx)
    assert out.status == "fail" and "1 failure event(s)" in out.summary
    ctx = build_tg_ecs(events=["(service api) has reached a steady state.",
                               "(service api) (task abc) failed container health checks."])
    assert run("ecs.tasks-not-crashing", ctx).status == "pass"


def test_ecs_tasks_not_crashing_unhealthy_running_task():
    tasks = [task_raw(1, "10.0.1.10",
                      containers=[{"name": "api", "lastStatus": "RUNNING", "healthStatus": "UNHEALTHY"}])]
    out = run("ecs.tasks-not-crashing", build_tg_ecs(tasks=tasks))
    assert out.status == "fail" and "unhealthy" in out.summary


def test_tg_ecs_catalogue_entries_match_the_contract():
    cat = Catalogue.load()
    want = {"tg.health-check-matches-app": ("high", "tg.align-health-check"),
            "tg.targets-registered": ("high", "tg.deregister-stale-targets"),
            "tg.targets-healthy": ("high", None),
            "ecs.lb-container-matches-taskdef": ("critical", "ecs.align-lb-container"),
            "ecs.port-env-matches-container": ("critical", None),
            "ecs.grace-period-covers-startup": ("medium", "ecs.set-grace-period"),
            "ecs.tasks-not-crashing": ("high", None)}
    for cid, (sev, fix) in want.items():
        chk = cat.checks[cid]
        assert (chk.severity, chk.fix, chk.evaluator) == (sev, fix, cid), cid
    playbook = [e.check.id for e in cat.load_playbook("snail-trail").entries]
    assert [c for c in playbook if c in want] == list(want)
