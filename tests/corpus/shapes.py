"""Botocore's service model as the judge of a response's shape: what AWS can return, field by field.

Why: the corpus and the worlds claim to hold the shapes AWS really returns. Each response is checked against the
output shape of its operation in the installed botocore (members, types, enums), so a typo, an invented field or a
string where AWS sends a number is caught before a world is trusted. The same walk turns timestamps into the
``datetime`` objects botocore's parsers hand to callers, so the replay answers as a real client would.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def output_shape(service: str, operation: str) -> Any:
    return service_model(service).operation_model(operation).output_shape


# Where AWS itself answers outside its published model, as recorded: (operation, path) -> why it is allowed.
KNOWN_DEVIATIONS: dict[tuple[str, str], str] = {
    ("acm.DescribeCertificate", "DescribeCertificate.Certificate.KeyAlgorithm"):
        "ACM answers 'RSA-2048' (aws-cli acm/describe-certificate.rst) where the model's enum spells RSA_2048",
}


def problems(service: str, operation: str, response: Any) -> list[str]:
    """Every place where ``response`` departs from the model's output shape (empty: it fits), except the departures
    AWS is recorded making itself (``KNOWN_DEVIATIONS``)."""
    out: list[str] = []
    shape = output_shape(service, operation)
    if shape is None:
        return [f"{service}.{operation} has no output shape"] if response else []
    _walk(shape, response, operation, out)
    return [p for p in out if (f"{service}.{operation}", p.split(":", 1)[0]) not in KNOWN_DEVIATIONS]


def _walk(shape: Any, value: Any, where: str, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(f"{where}: expected an object ({shape.name}), got {type(value).__name__}")
            return
        for key, item in value.items():
            if key.startswith("_") or key == "ResponseMetadata":
                continue  # annotations of the corpus (origin, edits), and botocore's own metadata
            member = shape.members.get(key)
            if member is None:
                out.append(f"{where}.{key}: not a member of {shape.name}")
                continue
            _walk(member, item, f"{where}.{key}", out)
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{where}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{where}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(f"{where}: expected a map, got {type(value).__name__}")
            return
        for key, item in value.items():
            _walk(shape.value, item, f"{where}[{key!r}]", out)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(f"{where}: expected a string, got {value!r}")
        elif shape.enum and value not in shape.enum:
            out.append(f"{where}: {value!r} is not one of {shape.name}'s values")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{where}: expected an integer, got {value!r}")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            out.append(f"{where}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{where}: expected a boolean, got {value!r}")
    elif kind == "timestamp":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            out.append(f"{where}: expected a timestamp, got {value!r}")


def as_parsed(service: str, operation: str, response: Any) -> Any:
    """``response`` as botocore's parser returns it: timestamps as timezone-aware ``datetime``; annotation keys
    (``_origin``...) dropped. Everything else is kept as it is."""
    shape = output_shape(service, operation)
    return _parse(shape, response) if shape is not None else response


def _parse(shape: Any, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("_"):
                continue
            member = shape.members.get(key)
            out[key] = _parse(member, item) if member is not None else item
        return out
    if kind == "list" and isinstance(value, list):
        return [_parse(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _parse(shape.value, v) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        from botocore.utils import parse_timestamp

        return parse_timestamp(value)
    return value
