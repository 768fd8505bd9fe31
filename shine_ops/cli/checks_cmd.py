"""``shine-ops checks list|show``: the catalogue, and one check (or recorded failure mode) explained."""

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
                                "evaluator": c.evaluator, "hop": c.hop, "references": c.references} for c in rows],
                              indent=2))
        return
    for c in rows:
        typer.echo(f"{c.id:36} {c.severity:9} {c.title}" + (f"  [fix: {c.fix}]" if c.fix else ""))


@checks_app.command("show")
@guarded
def show_check(check_id: str = typer.Argument(..., metavar="ID", help="A check id, or FM-nn / NOTE-... of the "
                                                                      "recorded incident."),
               checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir"),
               config: Optional[str] = ConfigOpt,
               as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """One check's explanation, fix, references and the recorded failure modes it covers."""
    import json

    from shine_ops.config import load_config
    from shine_ops.engine.incident import record
    from shine_ops.engine.runner import load_catalogue
    from shine_ops.errors import UsageError
    from shine_ops.report.checks_text import check_json, check_text, incident_text

    cat = load_catalogue(checks_dirs(checks_dir, load_config(config)))
    entry = record().entries.get(check_id.upper() if check_id.upper().startswith("FM-") else check_id)
    if entry is not None:
        cited = sorted(c.id for c in cat.checks.values() if entry.id in c.references)
        if as_json:
            typer.echo(json.dumps({"id": entry.id, "kind": entry.kind, "title": entry.title, "summary": entry.summary,
                                   "broke": entry.broke, "showed": entry.showed, "reveals": entry.reveals,
                                   "checks": list(entry.checks), "cited_by": cited}, indent=2))
        else:
            typer.echo(incident_text(entry, cited), nl=False)
        return
    chk = cat.checks.get(check_id)
    if chk is None:
        import difflib

        near = difflib.get_close_matches(check_id, list(cat.checks), n=3)
        raise UsageError(f"unknown check id {check_id!r}",
                         hint=("did you mean " + ", ".join(near) + "? " if near else "")
                         + "shine-ops checks list shows the catalogue")
    if as_json:
        typer.echo(json.dumps(check_json(cat, chk), indent=2))
    else:
        typer.echo(check_text(cat, chk), nl=False)
