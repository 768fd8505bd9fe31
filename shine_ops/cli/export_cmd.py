"""``shine-ops export terraform``: the request path as Terraform import and resource blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ClusterOpt, ConfigOpt, DomainOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt,
                                  ServiceOpt, connect, guarded, say, settings_from, target_from)

export_app = typer.Typer(help="Export what the account holds as code.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("terraform")
@guarded
def terraform(out: str = typer.Option(..., "--out", help="Folder for imports.tf and main.tf."),
              domain: Optional[str] = DomainOpt, cluster: Optional[str] = ClusterOpt,
              service: Optional[str] = ServiceOpt, config: Optional[str] = ConfigOpt,
              profile: Optional[str] = ProfileOpt, region: Optional[str] = RegionOpt,
              endpoint_url: Optional[str] = EndpointOpt, sandbox: bool = SandboxOpt) -> None:
    """Terraform import blocks and resources for the request path (record, ALB, listeners, rules, TGs, SGs,
    ECS service, task definition), with the values read from the account."""
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.errors import UsageError
    from shine_ops.export.terraform import export
    from shine_ops.topology.collect import AREAS

    cfg = load_config(config)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    report = run(aws, target_from(domain, cluster, service, cfg, st), load_catalogue().load_playbook("guardrails"),
                 settings_from(cfg, st), areas=set(AREAS))
    files = export(report.snapshot, report.request_path)
    d = Path(out)
    try:
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {d}: {exc.strerror}") from None
    count = files["imports.tf"].count("import {")
    say(f"wrote {count} resources to {d / 'main.tf'} and {d / 'imports.tf'} (not plan-verified here)")
