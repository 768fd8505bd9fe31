"""A verb module that fails to import stops the command line with its name and the cause: before, a module
missing from the install left its commands out of ``--help`` without a word."""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from pathlib import Path

import pytest

import shine_ops.cli as cli


class _Broken(importlib.abc.MetaPathFinder):
    """Makes importing one module raise, as a module with a bug in its top level would."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname, path, target=None):
        if fullname == self.name:
            raise RuntimeError("boom at import")
        return None


def _command_modules(app) -> set[str]:
    """The modules whose functions are the commands of ``app`` and of its groups."""
    out = {c.callback.__module__ for c in app.registered_commands}
    for group in app.registered_groups:
        out |= _command_modules(group.typer_instance)
    return out


def test_the_verb_modules_are_exactly_the_modules_that_define_commands():
    for path in Path(cli.__file__).parent.glob("[!_]*.py"):  # a module with commands left off the list adds
        importlib.import_module(f"shine_ops.cli.{path.stem}")  # them here, at import, and is found below
    assert _command_modules(cli.app) == {f"shine_ops.cli.{m}" for m in cli.VERB_MODULES}


@pytest.mark.parametrize("how", ["missing", "raises"])
def test_a_verb_module_that_fails_to_import_is_an_error_naming_it(monkeypatch, how):
    name = "shine_ops.cli.smoke"
    if how == "missing":  # what the old loop swallowed: ModuleNotFoundError for the verb module itself
        monkeypatch.setitem(sys.modules, name, None)
    else:
        monkeypatch.delitem(sys.modules, name)
        monkeypatch.setattr(sys, "meta_path", [_Broken(name), *sys.meta_path])
    with pytest.raises(cli.VerbImportError, match=r"cannot load the commands of shine_ops\.cli\.smoke") as info:
        cli._register(("checks_cmd", "smoke"))
    assert info.value.name == name
    assert ("ModuleNotFoundError" if how == "missing" else "RuntimeError: boom at import") in str(info.value)


def test_registering_again_with_every_module_present_adds_nothing_twice():
    before = [c.name for c in cli.app.registered_commands]
    cli._register()
    assert [c.name for c in cli.app.registered_commands] == before
