"""Least-privilege IAM policies, derived from what every collector, probe and fix declares it calls."""

from __future__ import annotations

from typing import Any

MODES = ("read", "fix")
TEAM_JOURNAL = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]


def read_actions(playbook: Any | None = None) -> list[str]:
    """Actions a diagnosis needs: identity plus the areas the playbook's checks read (every area without one)."""
    from shine_ops.engine.runner import needed_areas
    from shine_ops.topology import collect

    areas = set(collect.AREAS) if playbook is None else needed_areas(playbook) | {"elbv2", "ecs"}
    actions = set(collect.PERMISSIONS["identity"])
    for area in areas:
        actions.update(collect.PERMISSIONS.get(area, []))
    try:  # the account-wide collector of the tortoise audit, where present
        from shine_ops.topology import account

        if playbook is None or "account" in areas:
            actions.update(getattr(account, "PERMISSIONS", []))
    except ImportError:
        pass
    return sorted(actions)


def fix_actions() -> list[str]:
    from shine_ops.fixes import load_fixes

    return sorted({a for spec in load_fixes().values() for a in spec.iam})


def policy(mode: str, playbook: Any | None = None, team_journal: bool = False) -> dict[str, Any]:
    statements = [{"Sid": "ShineOpsRead", "Effect": "Allow", "Action": read_actions(playbook), "Resource": "*"}]
    if mode == "fix":
        statements.append({"Sid": "ShineOpsFix", "Effect": "Allow", "Action": fix_actions(), "Resource": "*"})
        if team_journal:
            statements.append({"Sid": "ShineOpsTeamJournal", "Effect": "Allow", "Action": TEAM_JOURNAL,
                               "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def action_of(operation_key: str) -> str:
    """``elbv2.DescribeLoadBalancers`` -> ``elasticloadbalancing:DescribeLoadBalancers``."""
    import botocore.session

    from shine_ops.aws import iam_action

    service, _, op = operation_key.partition(".")
    return iam_action(botocore.session.get_session().get_service_model(service), op)
