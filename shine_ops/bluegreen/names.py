"""The green service's and the green target group's names (AWS naming rules, no call)."""

from __future__ import annotations

import re


def green_service_name(name: str) -> str:
    """The green service's name: ``-green`` added, or alternated with ``-blue`` so it never equals ``name``."""
    if name.endswith("-green"):
        return name[: -len("-green")] + "-blue"
    if name.endswith("-blue"):
        return name[: -len("-blue")] + "-green"
    return name + "-green"


def green_tg_name(blue_tg_name: str, revision: int | str) -> str:
    """``<blue name>-g<rev>`` within the 32-character limit; a previous ``-g<N>`` suffix is replaced, not
    stacked, and the name never ends with a hyphen (both AWS rules)."""
    suffix = f"-g{revision}"
    stem = re.sub(r"-g\d+$", "", blue_tg_name)[: 32 - len(suffix)].rstrip("-")
    return stem + suffix
