# The Shine reference service's image, built from the repository root:
#
#   docker build -t shine-reference-service .          users: the public python:3.11-slim base, pip uses the index
#   shine-ops sandbox image build                      here: a Debian base made with mmdebstrap, the wheels
#                                                      downloaded on the host, the network off during the build
#
# BASE picks the base image; it needs python3 (3.11+) with venv and useradd: python:3.11-slim has them, the local
# base is `mmdebstrap --variant=minbase --include=python3,python3-venv,passwd bookworm`. When the build context
# holds `.image-wheels/` (staged by `shine-ops sandbox image build`), pip installs from it alone (--no-index).
# The dependencies are their own layer (rebuilt only when pyproject.toml changes); a source change rebuilds
# only the small layers that copy and install the project (about 10 s).
ARG BASE=python:3.11-slim

FROM ${BASE} AS wheels
# the glob copies the wheels when they are staged, and nothing (no error) when they are not
COPY pyproject.toml .image-wheel[s] /wheels/

FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    MODEL_CACHE_DIR=/tmp/models \
    TF_CPP_MIN_LOG_LEVEL=2 \
    HOME=/home/app

# COPY, not a bind mount, for what the layers depend on: COPY is keyed by content, so a changed pyproject.toml
# rebuilds the dependencies and a changed source rebuilds the project (buildah does not key a RUN on a bind
# mount of the context: a stale source would be reused).
COPY pyproject.toml /tmp/src/pyproject.toml
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    if ls /wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links /wheels; else set --; fi \
    && python3 -m venv /opt/venv \
    && python3 -c "import tomllib; p = tomllib.load(open('/tmp/src/pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['service'] + ['setuptools>=77,<81', 'wheel']))" \
       > /tmp/requirements.txt \
    && /opt/venv/bin/pip install "$@" -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project (shine_ops and reference_service, with the model and its card as package data).
COPY README.md /tmp/src/
COPY shine_ops /tmp/src/shine_ops
COPY reference_service /tmp/src/reference_service
COPY checks /tmp/src/checks
COPY playbooks /tmp/src/playbooks
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation /tmp/src \
    && rm -rf /tmp/src \
    && python -c "import cv2, os; assert os.path.exists(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml')" \
    && python -c "from reference_service.model_store import PACKAGE_MODEL, card_path_for; \
assert PACKAGE_MODEL.is_file() and card_path_for(PACKAGE_MODEL).is_file(), 'the model and its card are missing'" \
    && python -c "import reference_service.app" \
    && useradd --create-home --home-dir /home/app --uid 10001 app \
    && mkdir -p /tmp/models /app && chown app /tmp/models

WORKDIR /app
# gunicorn reads ./gunicorn.conf.py: the port from $PORT and nothing else; graceful_timeout 20 s (on SIGTERM the
# workers finish in-flight requests), inside the task definition's stopTimeout of 25 s.
COPY reference_service/gunicorn.conf.py ./gunicorn.conf.py
USER 10001
EXPOSE 8000
# For Docker users only: podman keeps it only with --format docker, and ECS ignores it (it runs the task
# definition's healthCheck, which is this same command).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)" || exit 1
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py", "reference_service.app:create_app()"]
