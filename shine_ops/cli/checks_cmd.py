"""``shine-ops checks list``: the catalogue."""

from __future__ import annotations

from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import ConfigOpt, checks_dirs, guarded

checks_app = typer.Typer(help="The check catalogue.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")


@checks_app.command("list")
@guarded
def list_checks(checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir"),
                config: Optional[str] = ConfigOpt,
                as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Every check: id, severity, title, fix."""
    import json

    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue

    cat = load_catalogue(checks_dirs(checks_dir, load_config(config)))
    rows = sorted(cat.checks.values(), key=lambda c: c.id)
    if as_json:
        typer.echo(json.dumps([{"id": c.id, "severity": c.severity, "title": c.title, "fix": c.fix,
                                "evaluator": c.evaluator} for c in rows], indent=2))
        return
    for c in rows:
        typer.echo(f"{c.id:36} {c.severity:9} {c.title}" + (f"  [fix: {c.fix}]" if c.fix else ""))
