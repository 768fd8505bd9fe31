from tests.e2e.conftest import moto_server, scenario_server  # noqa: F401  (shared fixtures)
