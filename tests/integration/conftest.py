"""Integration tests need promtool / prometheus; CI (SAASWATCH_REQUIRE_PROMETHEUS=1) fails without them."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE = os.environ.get("SAASWATCH_REQUIRE_PROMETHEUS") == "1"


def require_binary(name: str, package: str = "prometheus") -> str:
    path = shutil.which(name)
    if path is None:
        if REQUIRE:
            pytest.fail(f"{name} is required (SAASWATCH_REQUIRE_PROMETHEUS=1) but not installed")
        pytest.skip(f"{name} not installed (apt-get install {package})")
    return path


@pytest.fixture
def promtool() -> str:
    return require_binary("promtool")


@pytest.fixture(scope="session")  # session: module-scoped servers (test_dashboards.py) start one Prometheus
def prometheus_bin() -> str:
    return require_binary("prometheus")


@pytest.fixture
def amtool() -> str:
    return require_binary("amtool", package="prometheus-alertmanager")
