"""Fixtures shared by the tests of the synthetic campus generator (generators/mobility/).

Campuses are immutable (frozen dataclasses whose derived data are cached on first use), so one
instance per session serves every test module.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from generators.mobility import SyntheticCampus, generate_campus


@pytest.fixture(scope="session")
def campus() -> SyntheticCampus:
    """The paper's setting (68 users, 124 APs, 30 days), seed 7."""
    return generate_campus("wtd", seed=7)


@pytest.fixture(scope="session")
def ap_campus() -> SyntheticCampus:
    """The same campus seen as an AP log: stays plus the APs passed between buildings."""
    return generate_campus("wtd-ap", seed=7)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"user": str, "location": str}).reset_index(drop=True)


@pytest.fixture(scope="session")
def plain() -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Ids as strings, so frames with different category universes compare by value."""
    return _plain
