"""``shine-ops iam-policy``: the minimal IAM policy for reading (diagnose) or fixing."""

from __future__ import annotations

import json
from typing import Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import ConfigOpt, choice, guarded


@app.command("iam-policy")
@guarded
def iam_policy(mode: str = typer.Option("read", "--mode", help="read (diagnose) or fix (diagnose and repair)."),
               playbook: Optional[str] = typer.Option(None, "--playbook", help="Only what this playbook reads."),
               config: Optional[str] = ConfigOpt) -> None:
    """Print the least-privilege IAM policy (JSON) that shine-ops needs, from what each part declares."""
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue
    from shine_ops.iam import MODES, policy

    choice(mode, MODES, "--mode")
    cfg = load_config(config)
    pb = load_catalogue().load_playbook(playbook) if playbook else None
    typer.echo(json.dumps(policy(mode, pb, team_journal=bool(cfg.get("state"))), indent=2))
