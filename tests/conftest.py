"""Fixtures every test folder may use: the state store backends (tests/state_backends.py)."""

pytest_plugins = ["tests.state_backends"]
