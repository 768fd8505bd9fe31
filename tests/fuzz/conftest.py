"""Fuzz and report-schema fixtures: the plain moto server and its scenario seeding, shared with tests/e2e."""

from __future__ import annotations

from tests.e2e.conftest import moto_server, scenario_server  # noqa: F401  (shared fixtures)
