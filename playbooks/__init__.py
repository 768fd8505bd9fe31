"""The built-in playbooks: ordered lists of check ids (installed as ``shine_ops.playbooks``).

Data, not code: the package exists so that ``importlib.resources.files("shine_ops.playbooks")`` finds the
files the same way in an editable install (this folder) and in a wheel. See ``checks/__init__.py``.
"""
