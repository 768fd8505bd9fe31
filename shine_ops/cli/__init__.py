"""The ``shine-ops`` command line.

Only typer and rich are imported here: every verb module imports boto3, moto, requests or
TensorFlow inside its command functions, so ``shine-ops --help`` stays fast (see bench/startup.py).
"""

from __future__ import annotations

import os
import sys

import typer

from shine_ops import __version__

app = typer.Typer(
    name="shine-ops",
    help="Find, explain and safely fix the broken link between a domain, an AWS load balancer and an ECS service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shine-ops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """shine-ops: diagnose, map and fix the request path of a service on AWS."""


def _register() -> None:
    # Each module adds its commands to ``app``; none of them imports heavy libraries at import time.
    from shine_ops.cli import checks_cmd, diagnose, fix_cmd, map_cmd, playbook_cmd, sandbox_cmd  # noqa: F401

    for optional in ("smoke", "model", "audit", "triage", "tortoise_cmd", "iam_cmd", "deploy_cmd", "export_cmd",
                     "watch_cmd", "report_cmd"):
        try:
            __import__(f"shine_ops.cli.{optional}")
        except ModuleNotFoundError as exc:  # a verb module not written yet must not break the others
            if exc.name != f"shine_ops.cli.{optional}":
                raise
    from shine_ops.cli.common import readable_metavars

    readable_metavars(app)  # DOMAIN, FILE, SECONDS in --help, not typer's <str> and <list[str]>


_register()


def main() -> None:
    """Console-script entry point: runs the app and turns any ShineOpsError into one line + exit code."""
    from shine_ops.errors import ShineOpsError

    try:
        app(standalone_mode=True)
    except ShineOpsError as err:  # raised outside a command's own handler
        typer.echo(f"shine-ops: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo("shine-ops: interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - last line of defence: never a traceback for the user
        if os.environ.get("SHINE_OPS_DEBUG"):
            raise
        typer.echo(f"shine-ops: internal error: {type(err).__name__}: {err} "
                   "(set SHINE_OPS_DEBUG=1 for the traceback and report it)", err=True)
        sys.exit(3)
