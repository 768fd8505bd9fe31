"""gunicorn settings for the reference service. The port comes from $PORT and nothing else.

Run: gunicorn -c reference_service/gunicorn.conf.py 'reference_service.app:create_app()'
The master imports the modules serving needs (TensorFlow above all) once, after binding the port and before
forking the workers (``when_ready``, see ``reference_service/preload.py``; ``PRELOAD_IMPORTS=0`` turns it off):
the workers inherit them instead of each importing TensorFlow at the same time on the same cores. Only
imports cross the fork: each worker builds its own app (no ``preload_app``) and loads and warms the model in a
background thread, so /health answers as soon as the worker runs and /ready turns 200 once the model is warm.
"""

import os

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8000  # the one port: task-definition.json containerPort and PORT, Dockerfile EXPOSE/HEALTHCHECK

bind = f"{os.environ.get('HOST', DEFAULT_HOST)}:{int(os.environ.get('PORT', DEFAULT_PORT))}"
wsgi_app = "reference_service.app:create_app()"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 75  # longer than the ALB's 60 s idle timeout, so the ALB closes idle connections first
forwarded_allow_ips = "*"
accesslog = None  # the app writes one JSON line per request with its request id
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "reference_service.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False,
                                   "qualname": "gunicorn.error"},
                "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False,
                                    "qualname": "gunicorn.access"}},
}


def when_ready(server):
    """Runs in the master once the port is bound, before the first fork (and not again on worker restarts:
    a restarted worker inherits the imports too)."""
    from reference_service.preload import enabled, preimport

    if enabled():
        result = preimport()
        server.log.info("preloaded serving modules in %.2f s%s", result["seconds"],
                        f"; failed: {result['failed']}" if result["failed"] else "")
