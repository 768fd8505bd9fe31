"""Scheduling recipes shipped in shine_ops/data/schedule, filled with the audit's config path and out-dir."""

from __future__ import annotations

from importlib import resources

KINDS = {
    "cron": ["shine-ops-audit.cron"],
    "systemd": ["shine-ops-audit.service", "shine-ops-audit.timer"],
    "github": ["shine-ops-audit.github-workflow.yml"],
    "ecs": ["shine-ops-audit.ecs-task-definition.json", "shine-ops-audit.eventbridge-schedule.json"],
}


def recipe_text(name: str) -> str:
    return resources.files("shine_ops.data.schedule").joinpath(name).read_text(encoding="utf-8")


def fill(text: str, *, config: str, out_dir: str) -> str:
    return text.replace("{{CONFIG}}", config).replace("{{OUT_DIR}}", out_dir)


def render(kind: str, *, config: str, out_dir: str) -> str:
    """Each file of the recipe, with a ``# ==> name <==`` header when there are several."""
    from shine_ops.errors import UsageError

    if kind not in KINDS:
        raise UsageError(f"--print-schedule must be one of {', '.join(KINDS)}, not {kind!r}")
    names = KINDS[kind]
    parts = []
    for name in names:
        body = fill(recipe_text(name), config=config, out_dir=out_dir).rstrip("\n") + "\n"
        parts.append(f"# ==> {name} <==\n{body}" if len(names) > 1 else body)
    return "\n".join(parts)
