"""Makes the double's fixtures (double_server, double) available to every test in this folder."""

from double_fixtures import double, double_server  # noqa: F401
