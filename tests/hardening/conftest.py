from tests.e2e.conftest import fresh_moto, moto_server  # noqa: F401  (shared fixtures)
