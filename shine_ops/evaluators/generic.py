"""The generic evaluator: a check written in YAML alone, as a JMESPath assertion over one resource kind.

    evaluator: jmespath
    params:
      resource: task_definitions        # a kind of Snapshot.raw_view(): the raw AWS shapes
      assert: "length(containerDefinitions[?logConfiguration == null]) == `0`"
      id: taskDefinitionArn             # JMESPath giving each resource's id (for `resources`)
      where: "status == 'ACTIVE'"       # optional: only resources for which this is truthy
      expected: "every container ships its logs"   # optional wording for the report

Every selected resource must make ``assert`` truthy; the failing ones are named.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip

# resource kind -> the snapshot area that collects it
KIND_AREAS = {
    "hosted_zones": "dns", "record_sets": "dns", "load_balancers": "lb_attributes", "listeners": "elbv2",
    "rules": "elbv2", "target_groups": "target_health", "services": "ecs", "task_definitions": "task_definitions",
    "tasks": "tasks", "security_groups": "security_groups", "subnets": "subnets", "network_acls": "nacls",
    "route_tables": "route_tables", "network_interfaces": "dns", "certificates": "certificates",
}
# resource kind -> the hop of the request path its findings are about
KIND_HOPS = {
    "hosted_zones": "dns", "record_sets": "dns", "load_balancers": "load_balancer", "listeners": "listener",
    "rules": "listener", "certificates": "listener", "target_groups": "target_group", "services": "service",
    "tasks": "service", "task_definitions": "task_definition", "security_groups": "network", "subnets": "network",
    "network_acls": "network", "route_tables": "network", "network_interfaces": "network",
}
JMES = {"type": "string", "minLength": 1, "description": "a JMESPath expression"}
PARAMS = {"resource": {"enum": sorted(KIND_AREAS), "description": "a kind of Snapshot.raw_view()"},
          "assert": JMES, "id": JMES, "where": JMES, "expected": {"type": "string"}}


@lru_cache(maxsize=256)
def compiled(expr: str) -> Any:
    import jmespath

    return jmespath.compile(expr)


def validate_params(params: dict) -> list[tuple[tuple, str]]:
    """Problems with a jmespath check's params, as (field path, message); empty when valid."""
    from jmespath.exceptions import JMESPathError

    problems: list[tuple[tuple, str]] = []
    kind = params.get("resource")
    if kind not in KIND_AREAS:
        problems.append((("params", "resource"), f"unknown resource kind {kind!r}; one of "
                                                  + ", ".join(sorted(KIND_AREAS))))
    for key in ("assert", "id", "where"):
        expr = params.get(key)
        if key in ("assert", "id") and not isinstance(expr, str):
            problems.append((("params", key), "expected a JMESPath expression (a string)"))
            continue
        if expr is None:
            continue
        if not isinstance(expr, str):
            problems.append((("params", key), "expected a JMESPath expression (a string)"))
            continue
        try:
            compiled(expr)
        except JMESPathError as exc:
            problems.append((("params", key), f"invalid JMESPath: {str(exc).splitlines()[0]}"))
    return problems


@evaluator("jmespath", hop=lambda p: KIND_HOPS.get(p.get("resource"), "service"),
           needs=lambda p: frozenset({KIND_AREAS.get(p.get("resource"), "ecs")}),
           params=PARAMS, required=("resource", "assert", "id"), check_params=validate_params)
def jmespath_assertion(ctx: Context, params: dict) -> Outcome:
    """Each resource of ``params.resource`` satisfies ``params.assert``."""
    from jmespath.exceptions import JMESPathError

    kind = params["resource"]
    items = ctx.snapshot.raw_view().get(kind, [])
    if params.get("where"):
        items = [i for i in items if compiled(params["where"]).search(i)]
    if not items:
        return skip(f"No {kind.replace('_', ' ')} on this request path.")
    failing, passing = [], []
    for item in items:
        rid = str(compiled(params["id"]).search(item))
        try:
            ok = bool(compiled(params["assert"]).search(item))
        except JMESPathError as exc:
            return Outcome("error", f"The assertion could not be evaluated on {rid}: {exc}.")
        (passing if ok else failing).append(rid)
    expected = params.get("expected") or f"{params['assert']} for every {kind[:-1].replace('_', ' ')}"
    if failing:
        return Outcome("fail", f"{len(failing)} of {len(items)} {kind.replace('_', ' ')} fail: {', '.join(failing)}.",
                       resources=failing, expected=expected, actual=f"false for {', '.join(failing)}",
                       evidence={"assert": params["assert"], "failing": failing, "passing": passing})
    return Outcome("pass", f"All {len(items)} {kind.replace('_', ' ')} satisfy the rule.", resources=passing,
                   expected=expected, actual="true for all", evidence={"assert": params["assert"]})
