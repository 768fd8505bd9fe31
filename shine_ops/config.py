"""``shine-ops.yaml``: the project file. Options override it; README "Configuration" lists its keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from shine_ops.engine.yamlload import Located, load_located
from shine_ops.errors import ConfigError

DEFAULT_FILE = "shine-ops.yaml"
STATE_DIR_ENV = "SHINE_OPS_STATE_DIR"  # where local state lives: the change journal, audits, a running sandbox

_TYPES: dict[str, Any] = {
    "domain": str, "cluster": str, "service": str, "region": str, "profile": str, "endpoint_url": str,
    "health_path": str, "service_paths": list, "startup_budget_s": (int, float), "latency_budget_s": (int, float),
    "frontend_origins": list, "checks_dir": (str, list), "suppressions": list, "targets": list,
    "playbooks": list, "fail_on": str, "notify": dict, "state": (str, dict), "declared": dict,
    "serves_reference_api": bool,
}


@dataclass
class ProjectConfig:
    data: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    suppressions: list[Any] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def state_dir() -> Path:
    """The local state folder: ``SHINE_OPS_STATE_DIR``, else ``~/.local/state/shine-ops``. The journal lives here
    unless ``state:`` in shine-ops.yaml names a team journal in S3."""
    import os

    return Path(os.environ.get(STATE_DIR_ENV) or Path.home() / ".local" / "state" / "shine-ops")


def load_config(path: str | None) -> ProjectConfig:
    """Load ``path`` (must exist) or ``./shine-ops.yaml`` (optional)."""
    p = Path(path) if path else Path(DEFAULT_FILE)
    if not p.exists():
        if path:
            raise ConfigError("configuration file not found", path=str(p))
        return ProjectConfig()
    doc = load_located(p)
    if doc.data is None:
        return ProjectConfig(path=str(p))
    if not isinstance(doc.data, dict):
        raise doc.error((), "shine-ops.yaml must be a mapping of keys to values")
    _check_types(doc)
    from shine_ops.engine.suppress import parse_suppressions

    cfg = ProjectConfig(doc.data, str(p))
    cfg.suppressions = parse_suppressions(doc.data.get("suppressions"), doc)
    return cfg


def _check_types(doc: Located) -> None:
    for key, value in doc.data.items():
        if key not in _TYPES:
            raise doc.error((key,), "unknown key", hint="known keys: " + ", ".join(sorted(_TYPES)))
        want = _TYPES[key]
        if isinstance(value, bool) and want in ((int, float), str, list, dict):
            raise doc.error((key,), f"expected {_name(want)}, got a boolean")
        if not isinstance(value, want):
            raise doc.error((key,), f"expected {_name(want)}, got {type(value).__name__}")
    for key in ("service_paths", "frontend_origins"):
        for i, v in enumerate(doc.data.get(key) or []):
            if not isinstance(v, str):
                raise doc.error((key, i), "expected a string")
    declared_keys = {"domain": str, "load_balancer": str, "paths": list, "target_group": str, "service": str,
                     "container_port": int, "health_path": str, "grace_period_s": int, "idle_timeout_s": int}
    for key, value in (doc.data.get("declared") or {}).items():
        if key not in declared_keys:
            raise doc.error(("declared", key), "unknown key", hint="known: " + ", ".join(declared_keys))
        if isinstance(value, bool) or not isinstance(value, declared_keys[key]):
            raise doc.error(("declared", key), f"expected {_name(declared_keys[key])}, got {type(value).__name__}")
    for i, v in enumerate(doc.data.get("service_paths") or []):
        if not v.startswith("/"):
            raise doc.error(("service_paths", i), f"a path must start with '/': {v!r}")


def _name(t: Any) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return {"str": "a string", "list": "a list", "dict": "a mapping", "bool": "true or false"}.get(t.__name__, t.__name__)


def settings_from(config: Any, sandbox_state: Optional[dict] = None) -> Any:
    """The declared expectations (evaluators.Settings): the sandbox scenario's ``target``, then shine-ops.yaml's
    keys. Here, below the CLI, because audits and deploys build them too."""
    from shine_ops.evaluators import Settings

    cfg = dict((sandbox_state or {}).get("target") or {})  # the scenario's expectations, then the file's
    cfg.update(config.data if config is not None else {})
    def listed(key: str) -> list[str] | None:
        return list(cfg[key]) if cfg.get(key) is not None else None

    return Settings(health_path=cfg.get("health_path"), service_paths=listed("service_paths"),
                    startup_budget_s=cfg.get("startup_budget_s"), latency_budget_s=cfg.get("latency_budget_s"),
                    frontend_origins=listed("frontend_origins"),
                    serves_reference_api=bool(cfg.get("serves_reference_api", False)),
                    declared=dict(cfg.get("declared") or {}))
