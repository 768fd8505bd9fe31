"""Catalogue, playbooks, runner: turns a snapshot and a request path into findings."""
