"""``shine-ops report schema``: the JSON Schema of ``shine-ops.report/v1``, as shipped with the package.

Why a file and not a Python dict: the schema is part of the outside contract, so it ships as plain JSON
(``shine_ops/schemas/report-v1.json``) that CI pipelines and editors can read without running shine-ops; this
command prints exactly that file. The ``diagnose --all`` wrapper (``shine-ops.report-set/v1``) is defined in the
same file (``$defs/report_set``); ``--kind report-set`` prints a schema rooted at it.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from shine_ops.cli import app
from shine_ops.cli.common import guarded

SCHEMA_FILE = "report-v1.json"
KINDS = ("report", "report-set")

report_app = typer.Typer(help="The JSON report's contract.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def report_schema(kind: str = "report") -> dict[str, Any]:
    """The shipped schema (``report``), or the same definitions rooted at the ``diagnose --all`` wrapper."""
    from importlib.resources import files

    doc = json.loads((files("shine_ops") / "schemas" / SCHEMA_FILE).read_text(encoding="utf-8"))
    if kind == "report":
        return doc
    return {"$schema": doc["$schema"], "$id": doc["$id"].replace("report-v1", "report-set-v1"),
            "title": "shine-ops.report-set/v1", "description": doc["$defs"]["report_set"]["description"],
            "$ref": "#/$defs/report_set", "$defs": doc["$defs"]}


@report_app.command("schema")
@guarded
def schema(kind: str = typer.Option("report", "--kind",
                                     help="report (one diagnosis) or report-set (diagnose --all).")) -> None:
    """Print the JSON Schema of the diagnose report (shine-ops.report/v1)."""
    from shine_ops.cli.common import choice

    choice(kind, KINDS, "--kind")
    typer.echo(json.dumps(report_schema(kind), indent=2))
