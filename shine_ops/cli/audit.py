"""``shine-ops audit``: scheduled health audits over many targets (reports, history, notifications, metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt, checks_dirs, guarded, say


@app.command()
@guarded
def audit(
    config: Optional[str] = typer.Option(None, "--config", help="Audit configuration (default: ./shine-ops.yaml)."),
    out_dir: Optional[str] = typer.Option(None, "--out-dir",
                                          help="Folder for report.json, report.xml, report.md, report.html, "
                                               "metrics.prom."),
    notify_webhook: Optional[str] = typer.Option(None, "--notify-webhook",
                                                 help="Slack-compatible webhook URL (overrides notify.webhook)."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip live DNS/HTTP probes."),
    probe_timeout: float = typer.Option(10.0, "--probe-timeout", help="Time budget of each target's probes, s."),
    strict_notify: bool = typer.Option(False, "--strict-notify",
                                       help="A failed notification makes the audit exit 3 (unless 2 applies)."),
    no_cloudwatch: bool = typer.Option(False, "--no-cloudwatch", help="Do not publish CloudWatch metrics."),
    concurrency: int = typer.Option(2, "--concurrency", help="Targets audited at once."),
    print_schedule: Optional[str] = typer.Option(None, "--print-schedule", metavar="cron|systemd|github|ecs",
                                                 help="Print a scheduling recipe for this audit and exit."),
    checks_dir: Optional[List[str]] = typer.Option(None, "--checks-dir", help="Extra folder of checks/playbooks."),
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """Audit every configured target with the configured playbooks; write reports, keep history, notify."""
    from shine_ops.errors import EXIT_INCOMPLETE, EXIT_USAGE, UsageError

    if print_schedule is not None:
        from shine_ops.audit.schedule import render

        cfg_path = config or "shine-ops.yaml"
        if print_schedule in ("cron", "systemd"):  # run from anywhere: absolute paths
            cfg_path = str(Path(cfg_path).resolve())
            out = str(Path(out_dir or "shine-ops-audit").resolve())
        else:
            out = out_dir or "shine-ops-audit"
        typer.echo(render(print_schedule, config=cfg_path, out_dir=out), nl=False)
        return
    if not out_dir:
        raise UsageError("--out-dir is required", hint="e.g. --out-dir audit-out")
    if notify_webhook is not None and not notify_webhook.startswith(("http://", "https://")):
        raise UsageError(f"--notify-webhook must be an http(s) URL, not {notify_webhook!r}")
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if probe_timeout <= 0:
        raise UsageError("--probe-timeout must be positive")
    from shine_ops.audit.config import parse_audit_config
    from shine_ops.audit.perform import perform_audit
    from shine_ops.audit.run import Connection
    from shine_ops.config import load_config
    from shine_ops.engine.runner import load_catalogue

    cfg = load_config(config)
    st = None
    if sandbox:
        if profile or endpoint_url:
            raise UsageError("--sandbox cannot be combined with --profile or --endpoint-url")
        from shine_ops.sandbox import control

        st = control.ensure_running(say)
        if cfg.path is None:  # no file: audit the sandbox's own target, with its scenario's declarations
            cfg = _sandbox_config(st)
    if cfg.path is None and st is None:
        raise UsageError("no audit configuration: ./shine-ops.yaml not found", hint="pass --config FILE")
    acfg = parse_audit_config(cfg)
    if st is not None:
        _refuse_other_accounts(acfg)
    catalogue = load_catalogue(checks_dirs(checks_dir, cfg))
    playbooks = [catalogue.load_playbook(p) for p in acfg.playbooks]  # invalid playbook: exit 2 before any call
    conn = Connection(profile=profile or cfg.get("profile"), region=region or cfg.get("region"),
                      endpoint_url=endpoint_url or cfg.get("endpoint_url"), sandbox_state=st)
    outcome = perform_audit(acfg, playbooks, cfg, conn, Path(out_dir), no_probe=no_probe,
                            probe_timeout=probe_timeout, concurrency=concurrency, webhook=notify_webhook,
                            cloudwatch=not no_cloudwatch, say=say)
    doc = outcome.doc
    for t in doc["targets"]:
        if t.get("error"):
            say(f"shine-ops: {t['name']}: {t['error']}")
    cmp = doc["comparison"]
    say(f"audit {doc['audit_id']}: exit {outcome.exit_code}, {doc['summary']['failing']} failing at or above "
        f"{acfg.fail_on}; {len(cmp['new'])} new, {len(cmp['resolved'])} resolved, {len(cmp['persisting'])} "
        f"persisting; wrote {', '.join(str(p) for p in outcome.files)}")
    code = outcome.exit_code
    if strict_notify and outcome.notify_failed and code != EXIT_USAGE:
        code = EXIT_INCOMPLETE
    raise typer.Exit(code)


def _sandbox_config(st: dict):
    """The audit configuration of ``audit --sandbox`` without a file: the sandbox's one target, with the Shine
    app's declarations its scenario ships (as ``diagnose --sandbox`` reads them)."""
    from shine_ops.config import ProjectConfig

    data = {k: v for k, v in (st.get("target") or {}).items() if v is not None}
    return ProjectConfig(data=data, path=None)


def _refuse_other_accounts(acfg) -> None:
    """--sandbox talks only to the sandbox: a target that names another account or endpoint is a usage error."""
    from shine_ops.errors import UsageError

    for spec in acfg.targets:
        for key in ("profile", "role_arn", "endpoint_url"):
            if getattr(spec, key):
                raise UsageError(f"target {spec.name!r} sets {key}, but --sandbox talks only to the sandbox",
                                 hint=f"drop --sandbox, or {key} from that target")
