"""``shine-ops playbook list|show|validate|schema``."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import ConfigOpt, checks_dirs, guarded

playbook_app = typer.Typer(help="Playbooks: ordered checks over the request path.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")


@playbook_app.command("list")
@guarded
def list_playbooks(checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir"),
                   config: Optional[str] = ConfigOpt) -> None:
    """The playbooks shine-ops knows."""
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue

    cat = load_catalogue(checks_dirs(checks_dir, load_config(config)))
    for name in cat.playbook_names():
        pb = cat.load_playbook(name)
        typer.echo(f"{name:16} {len(pb.entries):3} checks  {' '.join(pb.description.split())}")


@playbook_app.command("show")
@guarded
def show(name: str, checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir"),
         config: Optional[str] = ConfigOpt) -> None:
    """A playbook's checks in order, with severities and fixes."""
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue

    cat = load_catalogue(checks_dirs(checks_dir, load_config(config)))
    pb = cat.load_playbook(name)
    typer.echo(f"{pb.name}: {' '.join(pb.description.split())}")
    for i, e in enumerate(pb.entries, 1):
        typer.echo(f"{i:3}. {e.check.id:36} {e.severity:9} {e.check.title}"
                   + (f"  [fix: {e.check.fix}]" if e.check.fix else ""))


@playbook_app.command("validate")
@guarded
def validate(files: List[str] = typer.Argument(..., help="Playbook or check YAML files."),
             checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir"),
             config: Optional[str] = ConfigOpt) -> None:
    """Validate playbooks and checks; errors name file:line:column and the field (exit 2)."""
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue
    from shine_ops.engine.yamlload import load_located
    from shine_ops.errors import EXIT_USAGE, ConfigError

    cat = load_catalogue(checks_dirs(checks_dir, load_config(config)))
    failed = 0
    for f in files:
        try:
            doc = load_located(f)
            if isinstance(doc.data, dict) and "evaluator" in doc.data:
                cat.check_from(doc)
                typer.echo(f"{f}: valid check")
            else:
                pb = cat.playbook_from(doc)
                typer.echo(f"{f}: valid playbook {pb.name} ({len(pb.entries)} checks)")
        except ConfigError as err:
            failed += 1
            typer.echo(str(err), err=True)
    if failed:
        raise typer.Exit(EXIT_USAGE)


@playbook_app.command("schema")
@guarded
def schema(kind: str = typer.Option("playbook", "--kind", help="playbook or check.")) -> None:
    """Print the JSON Schema of playbooks (or of checks, with each evaluator's params) for editors."""
    from shine_ops.cli.common import choice
    from shine_ops.engine.schemas import PLAYBOOK_SCHEMA, check_schema_with_params
    from shine_ops.evaluators import load_builtin

    choice(kind, ("playbook", "check"), "--kind")
    typer.echo(json.dumps(PLAYBOOK_SCHEMA if kind == "playbook" else check_schema_with_params(load_builtin()),
                          indent=2))
