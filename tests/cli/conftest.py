"""Fixtures for the CLI's end-to-end runs: ``real_mongod`` (tests/conftest.py) and the shared ones."""
