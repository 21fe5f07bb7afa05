"""Shared fixtures: small real populations (one or two local authorities) built once per session."""

from __future__ import annotations

import pytest

from neighsim.config import load_config
from neighsim.population import build_population


@pytest.fixture(scope="session")
def tamworth_config():
    return load_config(population={"local_authorities": ["Tamworth"]})


@pytest.fixture(scope="session")
def tamworth(tamworth_config):
    return build_population(tamworth_config)


@pytest.fixture(scope="session")
def small_config():
    """About 8,000 residents of Tamworth: fast enough for engine tests."""
    return load_config(population={"local_authorities": ["Tamworth"], "scale": 0.1})


@pytest.fixture(scope="session")
def small_population(small_config):
    return build_population(small_config)


@pytest.fixture(scope="session")
def tamworth_ids() -> dict[str, int]:
    """Tamworth's neighbourhood ids by name (ids depend on the whole ICS's layout, names do not)."""
    geo = build_population(load_config(population={"local_authorities": ["Tamworth"], "scale": 0.05})).geography
    return dict(zip(geo.neighbourhoods["name"], geo.neighbourhoods["id"], strict=True))
