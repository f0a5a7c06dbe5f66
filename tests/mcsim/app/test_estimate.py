"""Up-front size estimates (mcsim/app/estimate.py): shown by validate, enforced by run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcsim.app.estimate import MEMORY_LIMIT_GB, TIME_LIMIT_S, check_size, estimate
from mcsim.app.runner import run_scenario
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.errors import MCSimError

CAMPUS = shipped_scenario("campus")


@pytest.mark.parametrize("name", ["campus", "paper_table3", "paper_figs5_8", "scale_100k"])
def test_shipped_scenarios_are_within_the_limits(name: str) -> None:
    found = estimate(load_scenario(shipped_scenario(name)))
    assert not found.too_large
    assert 0.3 < found.memory_gb < MEMORY_LIMIT_GB and 0 < found.seconds < TIME_LIMIT_S


def test_the_campus_estimate_is_of_the_measured_order() -> None:
    found = estimate(load_scenario(CAMPUS))  # measured: ~13 s, < 1 GB (README)
    assert found.users == 68 and 4 < found.seconds < 40 and found.memory_gb < 1.5


@pytest.mark.parametrize(
    ("overrides", "limit"),
    [
        ({"trace.synthetic.params": {"n_users": 50_000_000}}, "GB of memory"),
        ({"tasks.count": 10_000_000, "tasks.copies": 20_000_000}, "GB of memory"),
        ({"repetitions": 100_000}, "60 min"),
        ({"mobility": {"source": "patterns", "users": 1_000_000}}, "GB of memory"),
        ({"trace.synthetic.preset": "city", "trace.synthetic.days": 3650}, "GB of memory"),
    ],
)
def test_huge_runs_are_refused_before_any_work(
    overrides: dict[str, Any], limit: str, tmp_path: Path
) -> None:
    file = load_scenario(CAMPUS, overrides)
    assert estimate(file).too_large
    with pytest.raises(MCSimError, match=f"estimated past .*{limit}.*--allow-large"):
        check_size(file, allow_large=False)
    check_size(file, allow_large=True)  # the user may opt in
    with pytest.raises(MCSimError, match="--allow-large"):
        run_scenario(CAMPUS, tmp_path / "out", quiet=True, overrides=overrides)
    assert list(tmp_path.iterdir()) == []
