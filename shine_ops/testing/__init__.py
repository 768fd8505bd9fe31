"""Test-suite tools shipped inside the package, so that ``tests/`` and ``bench/`` scripts share one copy.

Nothing in the product imports this package: it exists to put the product under conditions that moto alone
never shows (throttling, 5xx answers, latency), in front of a local emulator only.
"""
