"""Fixtures shared by the whole suite: where the real data lives, the slow marker, whether this
CPU runs a bfloat16 LSTM, and a CPU that does not.

Real third-party data is read from the ``shared/data`` folder beside the repository (or from
``$MCSIM_DATA``); tests that need it skip with the reason when it is absent, so a clone
without it still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MCSIM_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MCSIM_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set MCSIM_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _dataset(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        pytest.skip(f"real data {path} is absent (set MCSIM_DATA to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def geolife_dir() -> Path:
    """The GeoLife sample (11 users), or a skip when it is absent."""
    return _dataset("geolife")


@pytest.fixture(scope="session")
def hapt_dir() -> Path:
    """The HAPT raw recordings (users 1-24), or a skip when it is absent."""
    return _dataset("hapt")


@pytest.fixture(scope="session")
def bfloat16_lstm() -> None:
    """A skip where torch has no bfloat16 LSTM on this CPU (oneDNN's needs AVX-512), so the
    suite passes on any CPU; the refusal itself is tested with a failing LSTM."""
    from generators.sensegen.sample import check_precision
    from mcsim.errors import InputError

    try:
        check_precision("bf16")
    except InputError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def no_bfloat16_lstm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Torch's LSTM fails as oneDNN's does on a CPU without AVX-512 (measured on an AMD EPYC
    with AVX2), whatever this CPU is."""
    import torch

    def no_primitive(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "could not create a primitive descriptor for the LSTM forward propagation "
            "primitive. Run workload with environment variable ONEDNN_VERBOSE=all"
        )

    monkeypatch.setattr(torch.nn.LSTM, "forward", no_primitive)
