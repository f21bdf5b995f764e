"""Task tests run against real servers on loopback (tests/servers): an HTTP server and versitygw.

pytest refuses `pytest_plugins` outside the root conftest, so the fixtures are imported here."""

from tests.servers.fixtures import *  # noqa: F401,F403
