"""Results that compare (mcsim/app/compare.py): statistics against scipy, types kept,
comparisons across runs, and the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mcsim.app.cli import main
from mcsim.app.compare import compare, describe, read_metrics, run_summary, summary_table
from mcsim.errors import MCSimError


def test_describe_matches_scipy() -> None:
    values = pd.Series([0.2, 0.4, 0.35, np.nan, 0.5])
    found = describe(values)
    x = values.dropna().to_numpy()
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert found["n"] == 4 and found["mean"] == pytest.approx(x.mean())
    assert found["sd"] == pytest.approx(x.std(ddof=1))
    assert (found["ci95_low"], found["ci95_high"]) == pytest.approx((low, high))
    single = describe(pd.Series([0.3]))
    assert single["n"] == 1 and np.isnan(single["sd"]) and np.isnan(single["ci95_low"])


def _metrics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": [0, 0, 0, 0, 1, 1],
            "repetition": [0, 0, 1, 1, 0, 0],
            "policy": ["NA", "MDP", "NA", "MDP", "NA", "MDP"],
            "g": [4, 4, 4, 4, 6, 6],
            "completion_ratio": [0.1, 0.5, 0.3, 0.7, 0.2, 0.6],
        }
    )


def test_summary_rows_per_variant_policy_and_metric() -> None:
    table = run_summary(_metrics(), ["g"], ["completion_ratio"])
    assert list(table.columns) == ["variant", "g", "policy", "metric", "mean", "sd",
                                   "ci95_low", "ci95_high", "n"]  # fmt: skip
    na = table[(table["policy"] == "NA") & (table["variant"] == 0)].iloc[0]
    assert na["mean"] == pytest.approx(0.2) and na["n"] == 2
    assert len(summary_table(_metrics(), ["policy"], ["completion_ratio"])) == 2


def test_compare_across_runs_keeps_na_a_policy(tmp_path: Path) -> None:
    for name, shift in (("a", 0.0), ("b", 0.1)):
        folder = tmp_path / name
        folder.mkdir()
        metrics = _metrics()
        frame = metrics.assign(completion_ratio=metrics["completion_ratio"] + shift)
        frame.to_parquet(folder / "metrics.parquet", index=False)
        frame.to_csv(folder / "metrics.csv", index=False)
    assert set(read_metrics(tmp_path / "a")["policy"]) == {"NA", "MDP"}
    (tmp_path / "a" / "metrics.parquet").unlink()  # the CSV fallback keeps "NA" too
    assert set(read_metrics(tmp_path / "a")["policy"]) == {"NA", "MDP"}
    table = compare([tmp_path / "a", tmp_path / "b"], "completion_ratio", ["policy"])
    assert list(table["run"]) == ["a", "a", "b", "b"]
    b_na = table[(table["run"] == "b") & (table["policy"] == "NA")].iloc[0]
    assert b_na["mean"] == pytest.approx(0.3) and b_na["n"] == 3
    with pytest.raises(MCSimError, match="unknown column 'colour'"):
        compare([tmp_path / "a"], "completion_ratio", ["colour"])
    with pytest.raises(MCSimError, match=r"no metrics\.parquet or metrics\.csv"):
        compare([tmp_path], "completion_ratio")


def test_the_compare_command_prints_and_draws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    _metrics().to_parquet(folder / "metrics.parquet", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(folder), "--by", "policy,variant"]) == 0
    out = capsys.readouterr().out
    assert "ci95_low" in out and "NA" in out
    assert (tmp_path / "compare_completion_ratio.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["compare", str(folder), "--metric", "nothing"]) == 1
