"""``deploy --finalize``: green alone behind the listeners, blue scaled to 0 and deleted, each a change emitted to
the change runner (so a finalize can be rolled back too)."""

from __future__ import annotations

from typing import Any, Callable

from shine_ops.bluegreen.forwards import Forward, find_forwards, forward_weights, only
from shine_ops.bluegreen.green import service_params
from shine_ops.deploy import DeployResult
from shine_ops.fixes import ApiCall, Change, Probe


def find_pair(aws: Any, cluster: str, service: str) -> tuple[dict, dict, list[Forward]]:
    """(blue, green, forwards) of a landed blue-green deploy, from either service's name: the forwards that
    split between the two services' target groups, blue being the one at weight 0."""
    from shine_ops.errors import UsageError

    found = aws.call("ecs", "DescribeServices", cluster=cluster, services=[service]).get("services", [])
    me = next((s for s in found if s.get("status") == "ACTIVE"), None)
    if me is None:
        raise UsageError(f"service {cluster}/{service} not found")
    my_tgs = [m["targetGroupArn"] for m in me.get("loadBalancers", []) if m.get("targetGroupArn")]
    if not my_tgs:
        raise UsageError(f"{cluster}/{service} is behind no target group: nothing to finalize")
    forwards = find_forwards(aws, my_tgs[0])
    split = [(f, forward_weights(a)) for f in forwards for a in f.actions if len(forward_weights(a)) == 2
             and my_tgs[0] in forward_weights(a)]
    if not split:
        raise UsageError(f"no blue-green deploy of {cluster}/{service} to finalize (no listener splits traffic "
                         f"between it and another target group)")
    weights = split[0][1]
    other_tg = next(a for a in weights if a != my_tgs[0])
    blue_tg, green_tg = (my_tgs[0], other_tg) if weights[my_tgs[0]] == 0 else (other_tg, my_tgs[0])
    if weights[blue_tg] != 0:
        raise UsageError(f"the deploy of {cluster}/{service} has not landed (weights "
                         f"{', '.join(str(w) for w in weights.values())})", hint="roll it back with shine-ops rollback")
    from shine_ops.topology.account import cluster_services

    others = cluster_services(aws, cluster)
    by_tg = {m.get("targetGroupArn"): s for s in others if s.get("status") == "ACTIVE" for m in s.get("loadBalancers", [])}
    blue, green = by_tg.get(blue_tg), by_tg.get(green_tg)
    if blue is None or green is None:
        raise UsageError(f"cannot tell the blue and green services of {cluster}/{service} apart")
    forwards = [f for f in forwards if any(blue_tg in forward_weights(a) for a in f.actions)]
    return blue, green, forwards


def finalize(aws: Any, journal: Any, *, who: str | None, cluster: str, service: str,
             say: Callable[[str], None]) -> DeployResult:
    """Green alone behind the listeners, blue scaled to 0 and deleted (its target group kept: see below)."""
    from shine_ops.changes import ChangeRunner, ids

    blue, green, forwards = find_pair(aws, cluster, service)
    blue_tg = next(m["targetGroupArn"] for m in blue["loadBalancers"] if m.get("targetGroupArn"))
    green_tg = next(m["targetGroupArn"] for m in green["loadBalancers"] if m.get("targetGroupArn"))
    run = ChangeRunner(aws, journal, who=who).begin(
        ids.DEPLOY, target={"service": f"{cluster}/{blue['serviceName']}", "strategy": "blue-green",
                            "finalize": f"{cluster}/{green['serviceName']}"})

    def do(key: str, resource: str, description: str, call: ApiCall, *, before: dict, after: dict,
           inverse: list[ApiCall], probe: Probe | None = None) -> None:
        run.do(Change(key=f"deploy#{key}", fix="deploy", resource=resource, description=description, call=call,
                      before=before, after=after, inverse=inverse, probe=probe))

    try:
        for f in forwards:
            after = only(f.actions, blue_tg, green_tg)
            do("finalize-listener", f.arn, f"{f.label}: forward to {green_tg.split('/')[-2]} alone",
                 f.call(after), before={"actions": f.actions}, after={"actions": after}, inverse=[f.call(f.actions)],
                 probe=f.probe(f.actions))
        say(f"listeners forward to {green_tg.split('/')[-2]} alone")
        name, desired = blue["serviceName"], int(blue.get("desiredCount") or 0)
        do("finalize-scale-0", f"{cluster}/{name}", f"scale {cluster}/{name} (blue) to 0",
             ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": 0}),
             before={"desiredCount": desired}, after={"desiredCount": 0},
             inverse=[ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": desired})])
        recreate = service_params(blue, cluster, name, blue["taskDefinition"], blue_tg, blue_tg)
        do("finalize-delete", f"{cluster}/{name}", f"delete {cluster}/{name} (blue)",
             ApiCall("ecs", "DeleteService", {"cluster": cluster, "service": name, "force": True}),
             before={"status": "ACTIVE"}, after={"status": "INACTIVE"}, inverse=[ApiCall("ecs", "CreateService", recreate)])
        say(f"scaled {cluster}/{name} to 0 and deleted it")
        notes = [f"{cluster}/{green['serviceName']} alone serves the traffic; {cluster}/{name} deleted"]
        # Blue's target group is kept: deleting it would give a rolled-back finalize a new ARN that the listener's
        # and the service's inverses do not name. Nothing forwards to it any more, so the tortoise audit reports it
        # (tg.orphaned) and its careful cleanup deletes it, saved first, once the team is sure.
        tg_name = blue_tg.split("/")[-2]
        notes.append(f"target group {tg_name} kept so this finalize can be rolled back; once sure, delete it with: "
                     "shine-ops fix tortoise --only tg.delete-orphaned --allow-delete")
    except Exception as exc:
        run.finish("failed", note=f"{type(exc).__name__}: {exc}"[:500])
        raise
    run.finish("applied", note="; ".join(notes)[:500])
    return DeployResult("landed", revision=green.get("taskDefinition"), notes=notes, apply_id=run.apply_id)

