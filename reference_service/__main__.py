"""Development server: ``python -m reference_service`` (binds HOST/PORT, default 0.0.0.0:8000).

Production uses gunicorn: ``gunicorn -c reference_service/gunicorn.conf.py 'reference_service.app:create_app()'``.
"""

from __future__ import annotations

import sys

from reference_service.app import create_app, settings_from_env


def main() -> int:
    try:
        cfg = settings_from_env()
    except ValueError as exc:
        print(f"reference_service: bad HOST/PORT environment: {exc}", file=sys.stderr)
        return 2
    app = create_app(cfg)
    app.run(host=cfg["HOST"], port=cfg["PORT"], threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
