"""Concurrent collection and the shared account read, against in-process moto accounts seeded from the sandbox's
scenarios: the reads run at once, yet the calls made and the snapshot are exactly those of one read at a time;
and a path resolved from one account read shared by many targets holds what its focused collection holds, with
each per-resource read made once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from shine_ops.errors import AwsCallError, UsageError
from shine_ops.topology import parallel
from shine_ops.topology.collect import Collector, Target

DOMAIN = "api.shineskincollective.com"
SERVICE = Target(cluster="production-shine-cluster", service="shine-api-gateway")
PATHS = ["/health", "/ready", "/api/*"]  # the scenario's declared service_paths: the domain reaches one service
EXTRA = ("orders", "billing")


def _scenario(name: str) -> dict:
    """A sandbox scenario, with two more services on the same load balancer (one of them broken) for the
    shared-read tests: a path among several."""
    from shine_ops.sandbox.scenario import load_scenario

    sc = load_scenario(name)
    sc["security_groups"]["billing"] = {"name": "billing-sg", "description": "billing tasks (no ALB ingress)"}
    https = sc["load_balancers"]["production-shine-skincare-alb"]["listeners"]["https"]
    https.setdefault("rules", {})
    for i, svc in enumerate(EXTRA):
        sc["task_definitions"][svc] = {"cpu": "256", "memory": "512", "containers": {svc: {
            "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{svc}:1", "port": 8000, "memory": 512,
            "environment": {"PORT": "8000"}}}}
        sc["target_groups"][f"{svc}-tg"] = {"port": 8000, "target_type": "ip", "health_check": {"path": "/health"}}
        https["rules"][300 + 10 * i] = {"paths": [f"/{svc}/*"], "forward": f"{svc}-tg"}
        sc["clusters"]["production-shine-cluster"]["services"][svc] = {
            "task_definition": svc, "desired": 1, "running": 1, "subnets": ["a", "b"],
            "security_groups": ["billing" if svc == "billing" else "ecs"],
            "load_balancers": [{"target_group": f"{svc}-tg", "container": svc, "port": 8000}]}
    return sc


@pytest.fixture
def seeded(mocked, monkeypatch: pytest.MonkeyPatch):
    """Factory: seed a scenario (``extras``: with two more services on its load balancer) into moto in process."""
    from moto.moto_api import state_manager

    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox.daemon import after_seed
    from shine_ops.sandbox.scenario import load_scenario
    from shine_ops.sandbox.seed import seed

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})

    def make(name: str, extras: bool = False) -> None:
        sc = _scenario(name) if extras else load_scenario(name)

        def before_service(spec: dict) -> None:
            monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(int(spec.get("running", spec.get("desired", 1)))))

        after_seed(sc, seed(Aws(ConnectionOptions(region="us-east-1")), sc, before_service=before_service))
        monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING", raising=False)

    yield make
    state_manager.unset_transition("ecs::task")


def _fresh_aws() -> Any:
    from shine_ops.aws import Aws, ConnectionOptions

    return Aws(ConnectionOptions(region="us-east-1"))


def _view(snap: Any, path: Any, *, tasks: bool = True) -> dict:
    """Everything a check can read, in collection order (the dicts' order is part of the snapshot)."""
    raw = snap.raw_view()
    if not tasks:
        raw.pop("tasks")
    return {
        "raw": raw,
        "order": {k: list(getattr(snap, k)) for k in ("zones", "load_balancers", "listeners", "rules", "target_groups",
                                                       "services", "task_definitions", "security_groups", "subnets",
                                                       "network_acls", "route_tables", "network_interfaces",
                                                       "certificates", "lb_metrics") if k != "tasks"},
        "health": {a: [t.raw for t in tg.targets] if tg.targets is not None else None
                   for a, tg in snap.target_groups.items()},
        "metrics": {a: m.to_json() for a, m in snap.lb_metrics.items()},
        "errors": {a: (e.operation, e.code, list(e.resources)) for a, e in snap.errors.items()},
        "missing": (list(snap.missing_services), list(snap.missing_target_groups)),
        "account": (snap.account, snap.region),
        "path": (path.domain, path.service.key if path.service else None, path.service_source, path.candidates,
                 [b.label for b in path.branches], [t.arn for t in path.running_tasks(snap)]),
    }


SCENARIOS = ["healthy", "shine-incident"]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("target", [Target(domain=DOMAIN), SERVICE], ids=["domain", "service"])
def test_the_same_calls_and_snapshot_with_and_without_concurrency(seeded, scenario, target, monkeypatch) -> None:
    seeded(scenario)
    seen: dict[str, tuple[dict, dict]] = {}
    for workers in ("1", "8"):
        monkeypatch.setenv(parallel.WORKERS_ENV, workers)
        aws = _fresh_aws()
        snap, path = Collector(aws, service_paths=PATHS).collect(Target(domain=target.domain, cluster=target.cluster,
                                                                        service=target.service))
        seen[workers] = (dict(aws.calls.by_operation), _view(snap, path))
    one, many = seen["1"], seen["8"]
    assert many[0] == one[0]  # call for call, by operation
    assert many[1] == one[1]  # the same snapshot, in the same order
    assert one[1]["path"][1] == SERVICE.service_key  # the path was really resolved
    assert sum(one[0].values()) >= 15


def test_the_reads_of_a_round_are_in_flight_together(seeded, monkeypatch) -> None:
    """Not one at a time: with each call held 50 ms, several overlap."""
    from shine_ops.aws import Aws

    seeded("healthy")
    monkeypatch.setenv(parallel.WORKERS_ENV, "8")
    lock, state = threading.Lock(), {"now": 0, "peak": 0}
    real = Aws.call

    def slow_call(self, service, operation, /, **params):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        try:
            time.sleep(0.05)
            return real(self, service, operation, **params)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(Aws, "call", slow_call)
    Collector(_fresh_aws()).collect(SERVICE)
    assert state["peak"] >= 3


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_path_from_the_shared_account_read_holds_what_its_focused_collection_holds(seeded, scenario) -> None:
    """Every service and the domain: the same snapshot as a focused collection (tasks aside: moto's ListTasks
    ignores ``serviceName``, so a focused read holds the cluster's other tasks too; the service's own are the same),
    and the same findings; or the same refusal (the incident's domain reaches no service, and three are behind
    other load balancers)."""
    seeded(scenario, extras=True)
    from shine_ops.engine.runner import evaluate, load_catalogue
    from shine_ops.evaluators import Context, Settings
    from shine_ops.topology.shared import AccountSource

    playbook = load_catalogue().load_playbook("snail-trail")
    shared_aws = _fresh_aws()
    source = AccountSource(shared_aws)
    targets = source.services_behind_load_balancers()
    assert {t.service for t in targets} >= {"shine-api-gateway", *EXTRA}
    for target in [Target(domain=DOMAIN)] + targets:
        try:
            focused = Collector(_fresh_aws(), service_paths=PATHS).collect(target)
        except UsageError as refused:
            with pytest.raises(UsageError) as also:
                Collector(shared_aws, service_paths=PATHS, source=source).collect(target)
            assert str(also.value) == str(refused) and scenario == "shine-incident"
            continue
        shared = Collector(shared_aws, service_paths=PATHS, source=source).collect(target)
        assert _view(*shared, tasks=False) == _view(*focused, tasks=False), target
        verdicts = [{(f.check, f.status, f.summary) for f in evaluate(playbook, Context(snapshot=s, path=p,
                                                                                         settings=Settings()))}
                    for s, p in (focused, shared)]
        assert verdicts[0] == verdicts[1], target


def test_the_shared_read_makes_each_per_resource_read_once(seeded) -> None:
    from shine_ops.topology.shared import AccountSource, for_each

    seeded("healthy", extras=True)
    aws = _fresh_aws()
    source = AccountSource(aws)
    targets = source.services_behind_load_balancers()
    paths = for_each(lambda t: Collector(aws, source=source).collect(t), targets + targets)  # twice, at once
    ops = aws.calls.by_operation
    tgs = {tg for _, p in paths for tg in p.service.target_group_arns}
    lbs = {lb for s, p in paths for lb in p.path_lb_arns(s)}
    assert ops["elbv2.DescribeTargetHealth"] == ops["elbv2.DescribeTargetGroupAttributes"] == len(tgs)
    assert ops["elbv2.DescribeLoadBalancerAttributes"] == len(lbs)
    assert ops["cloudwatch.GetMetricData"] == 1  # every application load balancer in one call
    assert ops["ecs.DescribeTaskDefinition"] == len({r for _, p in paths for r in p.service.named_revisions()})
    for op in ("sts.GetCallerIdentity", "elbv2.DescribeLoadBalancers", "elbv2.DescribeTargetGroups",
               "ec2.DescribeSecurityGroups", "ec2.DescribeSubnets", "ecs.ListClusters", "route53.ListHostedZones"):
        assert ops[op] == 1, op
    assert ops["elbv2.DescribeListeners"] <= len(source.load_balancers())  # each load balancer's once at most


# --------------------------------------------------------------------------- the helpers themselves
def test_run_all_keeps_plan_order_and_raises_the_first_failure_after_all_finished(monkeypatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "4")
    finished: list[int] = []

    def job(i: int, fail: bool = False) -> int:
        time.sleep(0.02 * (5 - i))
        finished.append(i)
        if fail:
            raise AwsCallError(f"x.Op{i}", "Throttling", "slow down")
        return i

    assert parallel.run_all([lambda i=i: job(i) for i in range(5)]) == [0, 1, 2, 3, 4]
    finished.clear()
    with pytest.raises(AwsCallError) as err:
        parallel.run_all([lambda: job(1), lambda: job(2, True), lambda: job(3, True)])
    assert err.value.operation == "x.Op2" and sorted(finished) == [1, 2, 3]  # the first in plan order, after all


def test_once_reads_each_key_once_across_threads_and_hands_its_failure_to_everyone(monkeypatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "8")
    once, calls = parallel.Once(), Counter()

    def read(key: str) -> str:
        calls[key] += 1
        time.sleep(0.02)
        if key == "bad":
            raise AwsCallError("ec2.DescribeSubnets", "AccessDenied", "no")
        return key.upper()

    assert parallel.each(lambda k: once.get(k, lambda: read(k)), ["a", "b", "a", "a", "b"]) == list("ABAAB")
    for _ in range(3):
        with pytest.raises(AwsCallError):
            once.get("bad", lambda: read("bad"))
    assert calls == Counter({"a": 1, "b": 1, "bad": 1})


def test_a_bad_workers_setting_is_a_usage_error(monkeypatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "many")
    with pytest.raises(UsageError, match="SHINE_OPS_WORKERS"):
        parallel.workers()
    monkeypatch.setenv(parallel.WORKERS_ENV, "0")
    with pytest.raises(UsageError, match="at least 1"):
        parallel.workers()


def test_an_unreachable_endpoint_ends_the_collection_at_once_although_reads_started_beside_the_identity(
        moto_env, monkeypatch) -> None:
    """The first round reads the load balancers, the zones and the clusters beside sts:GetCallerIdentity; when the
    endpoint refuses the connection, none of them waits out its retries (about 30 s with back-off)."""
    import socket

    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.errors import EndpointUnreachable

    monkeypatch.setenv(parallel.WORKERS_ENV, "8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    aws = Aws(ConnectionOptions(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1"))
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable, match="sts.GetCallerIdentity"):
        Collector(aws).collect(Target(domain=DOMAIN))
    assert time.monotonic() - started < 5
