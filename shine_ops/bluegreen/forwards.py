"""The listener default actions and rules that forward to blue, and their weighted and final forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shine_ops.fixes import ApiCall, Probe


@dataclass
class Forward:
    """A listener default action list or a rule's action list that forwards to the blue target group."""

    kind: str  # "listener" | "rule"
    arn: str
    actions: list[dict]  # as described before the deploy: restored exactly on failure
    label: str

    def call(self, actions: list[dict]) -> ApiCall:
        if self.kind == "listener":
            return ApiCall("elbv2", "ModifyListener", {"ListenerArn": self.arn, "DefaultActions": actions})
        return ApiCall("elbv2", "ModifyRule", {"RuleArn": self.arn, "Actions": actions})

    def probe(self, before: list[dict]) -> Probe:
        if self.kind == "listener":
            return Probe(ApiCall("elbv2", "DescribeListeners", {"ListenerArns": [self.arn]}),
                         "Listeners[0].DefaultActions", before)
        return Probe(ApiCall("elbv2", "DescribeRules", {"RuleArns": [self.arn]}), "Rules[0].Actions", before)


def forward_weights(action: dict) -> dict[str, int]:
    """TG ARN -> weight of one forward action (either shape AWS returns)."""
    from shine_ops.topology.model import Action

    return Action.from_raw(action).target_groups if action.get("Type") == "forward" else {}


def find_forwards(aws: Any, tg_arn: str) -> list[Forward]:
    """Every listener default action and rule of the load balancers using ``tg_arn`` that forwards to it."""
    tg = aws.call("elbv2", "DescribeTargetGroups", TargetGroupArns=[tg_arn])["TargetGroups"][0]
    lbs = list(dict.fromkeys(tg.get("LoadBalancerArns") or []))  # moto lists a load balancer once per use
    if not lbs:  # some endpoints (moto) do not record a group attached by ModifyListener/ModifyRule: look at all
        lbs = [lb["LoadBalancerArn"] for lb in aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers")]
    out: list[Forward] = []
    for lb in lbs:
        for listener in aws.paginate("elbv2", "DescribeListeners", "Listeners", LoadBalancerArn=lb):
            label = f"{listener.get('Protocol')}:{listener.get('Port')}"
            if any(tg_arn in forward_weights(a) for a in listener.get("DefaultActions", [])):
                out.append(Forward("listener", listener["ListenerArn"], listener["DefaultActions"], f"{label} default"))
            for rule in aws.paginate("elbv2", "DescribeRules", "Rules", ListenerArn=listener["ListenerArn"]):
                if rule.get("IsDefault"):
                    continue
                if any(tg_arn in forward_weights(a) for a in rule.get("Actions", [])):
                    out.append(Forward("rule", rule["RuleArn"], rule["Actions"],
                                       f"{label} rule {rule.get('Priority')}"))
    return out


def weighted(actions: list[dict], blue: str, green: str, green_pct: int) -> list[dict]:
    """``actions`` with the forward to blue split blue (100 - pct) / green (pct); other actions unchanged."""
    out = []
    for a in actions:
        if blue not in forward_weights(a):
            out.append(a)
            continue
        fc: dict[str, Any] = {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 100 - green_pct},
                                               {"TargetGroupArn": green, "Weight": green_pct}]}
        sticky = (a.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
        if sticky:
            fc["TargetGroupStickinessConfig"] = sticky
        new: dict[str, Any] = {"Type": "forward", "ForwardConfig": fc}
        if "Order" in a:
            new["Order"] = a["Order"]
        out.append(new)
    return out


def only(actions: list[dict], old: str, new_tg: str) -> list[dict]:
    """``actions`` with the weighted forward that involves ``old`` replaced by a plain forward to ``new_tg``."""
    out = []
    for a in actions:
        if old not in forward_weights(a):
            out.append(a)
            continue
        new: dict[str, Any] = {"Type": "forward", "TargetGroupArn": new_tg}
        if "Order" in a:
            new["Order"] = a["Order"]
        out.append(new)
    return out


def refuse_split_forwards(forwards: list[Forward], blue: str, service_key: str) -> None:
    """A forward that already splits traffic (another blue-green deploy in progress, or a hand-made split)
    cannot be shifted safely: say what to do instead."""
    from shine_ops.errors import UsageError

    if not forwards:
        raise UsageError(f"no listener or rule forwards to {service_key}'s target group",
                         hint="blue-green shifts listener traffic; use --strategy rolling")
    for f in forwards:
        for a in f.actions:
            w = forward_weights(a)
            if blue in w and len(w) > 1:
                split = ", ".join(f"{k.split('/')[-2]}={v}" for k, v in w.items())
                raise UsageError(f"{f.label} already splits traffic ({split})",
                                 hint=f"finish that deploy first: shine-ops deploy --cluster ... --service "
                                      f"{service_key.split('/')[-1]} --finalize, or shine-ops rollback APPLY_ID")
