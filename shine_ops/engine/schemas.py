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
        "params": {"type": "object", "description": "The params its evaluator declares (shine-ops playbook schema "
                                                     "--kind check lists them per evaluator)"},
        "explanation": {"type": "string", "description": "Why it matters and what to do, for the report"},
        "consequence_of": {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN},
                           "description": "Checks whose failure explains this one (then it is no root cause)"},
        "references": {"type": "array", "items": {"type": "string", "minLength": 1},
                       "description": "AWS documentation URLs, and ids of the recorded incident (FM-nn, NOTE-...) "
                                      "that shine-ops checks show resolves"},
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
    },
}


def check_schema_with_params(registry: dict) -> dict:
    """The check schema with each registered evaluator's params schema (for editors: ``playbook schema --kind
    check``). The catalogue validates params the same way (``catalogue.validate_params``)."""
    import copy

    schema = copy.deepcopy(CHECK_SCHEMA)
    schema["properties"]["evaluator"] = {"enum": sorted(registry), "description": "A registered evaluator name"}
    schema["allOf"] = [{"if": {"properties": {"evaluator": {"const": name}}, "required": ["evaluator"]},
                        "then": {"properties": {"params": ev.params_schema()}}}
                       for name, ev in sorted(registry.items())]
    return schema
