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


# Every verb module: each adds its commands to ``app`` and imports no heavy library at import time.
VERB_MODULES = ("checks_cmd", "diagnose", "fix_cmd", "map_cmd", "playbook_cmd", "sandbox_cmd", "smoke", "model",
                "audit", "triage", "tortoise_cmd", "iam_cmd", "deploy_cmd", "export_cmd", "watch_cmd", "report_cmd")


class VerbImportError(ImportError):
    """A verb module failed to import: its commands would be missing from ``shine-ops --help`` without a word,
    so the whole command line refuses to start and names the module and the cause instead."""


def _register(modules: tuple[str, ...] = VERB_MODULES) -> None:
    import importlib

    for name in modules:
        module = f"shine_ops.cli.{name}"
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any failure: a broken install or a bug, never a silent gap
            raise VerbImportError(f"shine-ops cannot load the commands of {module}: {type(exc).__name__}: {exc}",
                                  name=module) from exc
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
