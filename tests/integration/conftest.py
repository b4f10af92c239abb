"""Fixtures of the integration tests, beside the broker and Redis of tests/conftest.py."""

from pathlib import Path

import pytest

from tests.integration import harness


@pytest.fixture
def env(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """The settings of a worker of this test alone (`harness.isolated_env`), topics created."""
    env = harness.isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    harness.run(harness.create_topics(harness.settings_of(env)))
    return env
