"""The check catalogue, one YAML file per check id (installed as ``shine_ops.checks``).

Data, not code: the package exists so that ``importlib.resources.files("shine_ops.checks")`` finds the files
the same way in an editable install (this folder) and in a wheel (``shine_ops/checks/`` inside it). The
mapping is ``[tool.setuptools.package-dir]`` in ``pyproject.toml``.
"""
