"""Fixtures for the reference service tests. The Keras model loads once per session (TF import ~3 s)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rs_helpers import PKG, host_command, parse_dockerfile, start_server  # noqa: E402


@pytest.fixture(scope="session")
def sample() -> dict:
    return json.loads((PKG / "sample_astronaut.json").read_text())


@pytest.fixture(scope="session")
def astronaut_b64(sample) -> str:
    return sample["image_data"]


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut_b64) -> bytes:
    import base64

    return base64.b64decode(astronaut_b64)


@pytest.fixture(scope="session")
def loaded_state():
    """A ServiceState with the shipped model, loaded synchronously (TensorFlow imports here, once)."""
    from reference_service.state import ServiceState

    st = ServiceState(model_uri="", skin_model_uri="")
    st.load()
    assert st.status == "ready", st.model_error
    return st


@pytest.fixture(scope="session")
def app(loaded_state):
    from reference_service.app import create_app

    return create_app({"CORS_ORIGINS": ["http://localhost:3000", "https://shineskincollective.com"]},
                      state=loaded_state, start_loading=False)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def gunicorn_server(tmp_path_factory):
    """The Dockerfile's CMD (gunicorn, 2 workers, the config file it copies) on a free loopback port, ready."""
    server = start_server(host_command(parse_dockerfile()), {"WEB_CONCURRENCY": "2", "CORS_ORIGINS": "http://localhost:3000"},
                          tmp_path_factory.mktemp("gunicorn"))
    yield server
    server.stop()
