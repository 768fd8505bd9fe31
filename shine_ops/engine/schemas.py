"""JSON Schemas of the catalogue's check files and of playbooks (``shine-ops playbook schema`` prints them)."""

from __future__ import annotations

from shine_ops.engine.finding import SEVERITIES

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"

CHECK_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://shine-ops.dev/schemas/check.json",
    "title": "shine-ops check",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "severity", "evaluator"],
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN, "description": "Stable id, e.g. sg.alb-to-task-ingress"},
        "title": {"type": "string", "minLength": 3},
        "severity": {"enum": list(SEVERITIES)},
        "evaluator": {"type": "string", "minLength": 1, "description": "A registered evaluator name"},
        "params": {"type": "object"},
        "fix": {"type": ["string", "null"], "pattern": ID_PATTERN},
        "explanation": {"type": "string", "description": "Why it matters and what to do, for the report"},
        "consequence_of": {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN},
                           "description": "Checks whose failure explains this one (then it is no root cause)"},
        "hop": {"type": "string"},
        "references": {"type": "array", "items": {"type": "string"}},
    },
}

PLAYBOOK_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://shine-ops.dev/schemas/playbook.json",
    "title": "shine-ops playbook",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "checks"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "description": {"type": "string"},
        "inputs": {"type": "array", "items": {"enum": ["domain", "cluster", "service"]}},
        "checks": {
            "type": "array", "minItems": 1,
            "items": {"oneOf": [
                {"type": "string", "pattern": ID_PATTERN},
                {"type": "object", "additionalProperties": False, "required": ["id"],
                 "properties": {"id": {"type": "string", "pattern": ID_PATTERN},
                                "severity": {"enum": list(SEVERITIES)},
                                "params": {"type": "object"}}},
            ]},
        },
        "fix_policy": {"type": "object", "properties": {
            "allow": {"type": "array", "items": {"type": "string"}},
            "order": {"type": "array", "items": {"type": "string"}}}},
    },
}
