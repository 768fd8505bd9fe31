"""The audit keys of shine-ops.yaml (contract: "Audit configuration"), validated into plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shine_ops.errors import ConfigError

TARGET_KEYS = {"name", "domain", "cluster", "service", "region", "profile", "role_arn", "endpoint_url",
               "health_path", "service_paths", "startup_budget_s", "latency_budget_s", "frontend_origins",
               "serves_reference_api"}
WHEN = ("change", "fail", "always")
DEFAULT_PLAYBOOKS = ["snail-trail"]


@dataclass
class TargetSpec:
    name: str
    domain: str | None = None
    cluster: str | None = None
    service: str | None = None
    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    endpoint_url: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # per-target overrides of health_path etc.

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in {"name": self.name, "domain": self.domain, "cluster": self.cluster,
                                  "service": self.service, "region": self.region}.items() if v}


@dataclass
class NotifyConfig:
    webhook: str | None = None
    sns_topic_arn: str | None = None
    when: str = "change"


@dataclass
class AuditConfig:
    targets: list[TargetSpec]
    playbooks: list[str]
    fail_on: str
    notify: NotifyConfig
    path: str | None


def parse_audit_config(cfg: Any) -> AuditConfig:
    """Validate the audit keys of a loaded ``ProjectConfig``; a bad value is a ConfigError (exit 2)."""
    from shine_ops.engine.finding import SEVERITIES

    data, path = cfg.data, cfg.path

    def bad(fld: str, msg: str, hint: str | None = None) -> ConfigError:
        return ConfigError(msg, path=path, field=fld, hint=hint)

    raw_targets = data.get("targets")
    if raw_targets is None:  # a single-service project file is one target
        if any(data.get(k) for k in ("domain", "cluster", "service")):
            raw_targets = [{k: data[k] for k in ("domain", "cluster", "service") if data.get(k)}]
        else:
            raise bad("targets", "no targets to audit", hint="add `targets:` with a domain or cluster+service each")
    if not raw_targets:
        raise bad("targets", "the list is empty")
    targets: list[TargetSpec] = []
    seen: set[str] = set()
    for i, t in enumerate(raw_targets):
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            raise bad(where, "expected a mapping with domain or cluster+service")
        unknown = sorted(set(t) - TARGET_KEYS)
        if unknown:
            raise bad(f"{where}.{unknown[0]}", "unknown key", hint="known keys: " + ", ".join(sorted(TARGET_KEYS)))
        for k, v in t.items():
            if k in ("service_paths", "frontend_origins"):
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise bad(f"{where}.{k}", "expected a list of strings")
            elif k in ("startup_budget_s", "latency_budget_s"):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise bad(f"{where}.{k}", "expected a number")
            elif k == "serves_reference_api":
                if not isinstance(v, bool):
                    raise bad(f"{where}.{k}", "expected true or false")
            elif not isinstance(v, str) or not v.strip():
                raise bad(f"{where}.{k}", "expected a non-empty string")
        if not t.get("domain") and not (t.get("cluster") and t.get("service")):
            raise bad(where, "needs a domain, or a cluster and a service")
        if t.get("role_arn") and not str(t["role_arn"]).startswith("arn:"):
            raise bad(f"{where}.role_arn", f"not an ARN: {t['role_arn']!r}")
        name = t.get("name") or t.get("service") or t.get("domain")
        if name in seen:
            raise bad(f"{where}.name", f"two targets are named {name!r}", hint="give each target a unique name:")
        seen.add(name)
        settings = {k: t[k] for k in ("health_path", "service_paths", "startup_budget_s", "latency_budget_s",
                                      "frontend_origins", "serves_reference_api") if k in t}
        targets.append(TargetSpec(name=name, domain=t.get("domain"), cluster=t.get("cluster"),
                                  service=t.get("service"), region=t.get("region"), profile=t.get("profile"),
                                  role_arn=t.get("role_arn"), endpoint_url=t.get("endpoint_url"), settings=settings))

    playbooks = data.get("playbooks") or list(DEFAULT_PLAYBOOKS)
    for i, p in enumerate(playbooks):
        if not isinstance(p, str) or not p:
            raise bad(f"playbooks[{i}]", "expected a playbook name or file")
    if len(set(playbooks)) != len(playbooks):
        raise bad("playbooks", "a playbook is listed twice")

    fail_on = data.get("fail_on", "high")
    if fail_on not in SEVERITIES:
        raise bad("fail_on", f"must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")

    raw_notify = data.get("notify") or {}
    unknown = sorted(set(raw_notify) - {"webhook", "sns_topic_arn", "when"})
    if unknown:
        raise bad(f"notify.{unknown[0]}", "unknown key", hint="known keys: sns_topic_arn, webhook, when")
    when = raw_notify.get("when", "change")
    if when not in WHEN:
        raise bad("notify.when", f"must be one of {', '.join(WHEN)}, not {when!r}")
    webhook = raw_notify.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
        raise bad("notify.webhook", f"must be an http(s) URL, not {webhook!r}")
    topic = raw_notify.get("sns_topic_arn")
    if topic is not None and (not isinstance(topic, str) or not topic.startswith("arn:") or topic.count(":") < 5):
        raise bad("notify.sns_topic_arn", f"not an SNS topic ARN: {topic!r}")
    return AuditConfig(targets=targets, playbooks=list(playbooks), fail_on=fail_on,
                       notify=NotifyConfig(webhook=webhook, sns_topic_arn=topic, when=when), path=path)
