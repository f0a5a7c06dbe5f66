"""The ``mcsim`` command line (mcsim.app.cli): ``run``, ``validate`` and ``mine`` (the public
contract of cycles.parquet and patterns.parquet), one-line errors and exit codes.
``mcsim allocate`` end to end is in test_allocate.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import mcsim.app.runner
from mcsim.app.cli import build_parser, main
from mcsim.data.geolife import read_geolife
from mcsim.errors import ScenarioError

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parents[2] / "scenarios"
BAD = HERE / "scenario" / "bad_scenarios" / "schema"
PATTERN_COLUMNS = ["user", "pattern", "support", "count", "n_cycles"]


@pytest.fixture(scope="module", autouse=True)
def mining_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One mining cache for this module's runs, outside the repository."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MCSIM_CACHE_DIR", str(tmp_path_factory.mktemp("mcsim-cache")))
        yield


def cli(*argv: str) -> int:
    """The command's function, called without main's error handling (errors propagate)."""
    args = build_parser().parse_args(argv)
    return args.func(args)


# ------------------------------------------------------------------ run, validate


def test_cli_validate_and_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("validate", str(SCENARIOS / "paper_table3.yaml")) == 0
    assert "8 variant(s) x 10 repetition(s) x 7 policies" in capsys.readouterr().out
    bad = BAD / "unknown_key.yaml"
    with pytest.raises(ScenarioError, match=r"tasks\.coutn"):
        cli("run", str(bad), "--out", str(tmp_path / "x"))
    assert list(tmp_path.iterdir()) == []


def test_validate_accepts_a_shipped_scenarios_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "campus"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "campus: ok (campus: 1 variant(s) x 5 repetition(s) x 8 policies)"
    assert out[1].startswith("estimate: about 68 users") and "GB peak memory" in out[1]


def test_overrides_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["validate", "campus", "--set", "tasks.count=60", "--set", "tasks.copies=120",
            "--policies", "MDP,IU1", "--seed", "7", "--sweep", "g=4,6,8"]  # fmt: skip
    assert main(argv) == 0
    assert "campus: 3 variant(s) x 5 repetition(s) x 2 policies" in capsys.readouterr().out
    argv = [
        "validate",
        "campus",
        "--sweep",
        "tasks=[{count: 20, copies: 38}, {count: 40, copies: 78}]",
    ]
    assert main(argv) == 0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--set", "tasks.coutn=60"], "key 'tasks.coutn': unknown key 'coutn'; did you mean"),
        (["--set", "g=abc"], "key 'g': expected a valid integer; got 'abc' (given as an override)"),
        (["--sweep", "g=0,4"], "key 'g': in sweep variant 0 (g=0)"),
        (["--policies", "MDP,XYZ"], "unknown policy 'XYZ'"),
        (["--set", "oops"], "--set 'oops': expected KEY=VALUE"),
        (["--sweep", "g=[4, 6"], "--sweep g: cannot read"),
        (["--seed", "-3"], "key 'seed': expected greater than or equal to 0"),
    ],
)
def test_bad_overrides_name_the_key_in_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "campus", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err


def test_validate_lists_every_problem_with_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "three.yaml"
    path.write_text(
        "seed: -1\ntrace:\n  synthetic: {preset: wtd, days: 1}\nsplit: {train_cycles: 7}\n"
        "tasks: {count: 5, copies: 10}\ng: 0\npolicies: [MDP]\n"
    )
    assert main(["validate", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"mcsim: error: {path}: 3 problems"
    assert lines[1].startswith("  line 1, key 'seed'")
    assert lines[2].startswith("  line 3, key 'trace.synthetic.days'")
    assert lines[3].startswith("  line 6, key 'g'")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(and 2 more problem(s); `mcsim validate` lists them)" in err


def test_cli_run_writes_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (SCENARIOS / "campus.yaml").read_text()
    assert "days: 35" in text and "sensor: sensegen" in text
    small = tmp_path / "small.yaml"
    # A relative output resolves against the scenario's folder, not the working directory.
    small.write_text(
        text.replace("days: 35", "days: 31").replace("sensor: sensegen", "sensor: none")
        + "output: out\n"
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli("run", str(small), "--repetitions", "1") == 0
    printed = capsys.readouterr().out
    assert "completion_ratio" in printed and "IU1" in printed
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv", keep_default_na=False)
    assert len(metrics) == 8 and (metrics["repetition"] == 0).all()
    assert list(elsewhere.iterdir()) == []


def test_main_cli_reports_errors_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = BAD / "out_of_range.yaml"
    assert main(["run", str(bad), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mining.minsup" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_exits_130_and_no_command_prints_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mcsim.app.runner, "run_scenario", interrupted)
    assert main(["run", "campus", "--out", str(tmp_path / "x")]) == 130
    assert capsys.readouterr().err.startswith("mcsim: interrupted; nothing was written")
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


# ------------------------------------------------------------------ mine


def gps_csv(tmp_path: Path) -> Path:
    """Two users, three days each: home at night, the same lab by day."""
    rows = ["user,time,latitude,longitude"]
    start = 1_709_251_200  # 2024-03-01T00:00Z
    places = {"home": (39.90, 116.30), "lab": (39.93, 116.33)}
    for user in ("ana", "ben"):
        for day in range(3):
            t0 = start + day * 86400
            for place, first_h, last_h in (("home", 5, 7), ("lab", 9, 12), ("home", 18, 20)):
                lat, lon = places[place]
                rows += [
                    f"{user},{t0 + first_h * 3600 + s},{lat},{lon}"
                    for s in range(0, (last_h - first_h) * 3600, 60)
                ]
    path = tmp_path / "gps.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_mine_gps_csv_writes_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mined"
    assert (
        main(
            [
                "mine",
                str(gps_csv(tmp_path)),
                "--minsup",
                "0.5",
                "--out",
                str(out),
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    cycles = pd.read_parquet(out / "cycles.parquet")
    patterns = pd.read_parquet(out / "patterns.parquet")
    assert {"user", "cycle", "sequence"} <= set(cycles.columns)
    assert list(patterns.columns) == PATTERN_COLUMNS
    assert len(cycles) == 6 and set(cycles["user"]) == {"ana", "ben"}
    home_lab_home = patterns[patterns["pattern"].map(len) == 3]
    assert len(home_lab_home) == 2  # both users, every day
    assert (home_lab_home["support"] == 1.0).all() and (home_lab_home["n_cycles"] == 3).all()
    assert "patterns at minsup 0.5" in capsys.readouterr().out


def test_mine_geolife(tmp_path: Path, geolife_dir: Path) -> None:
    out = tmp_path / "geolife"
    assert (
        main(
            [
                "mine",
                str(geolife_dir),
                "--minsup",
                "0.5",
                "--timezone",
                "Asia/Shanghai",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    patterns = pd.read_parquet(out / "patterns.parquet")
    assert list(patterns.columns) == PATTERN_COLUMNS
    assert (patterns["support"] >= 0.5).all()
    assert (patterns["support"] == patterns["count"] / patterns["n_cycles"]).all()


def test_geolife_as_gps_csv_gives_the_same_cycles(tmp_path: Path, geolife_dir: Path) -> None:
    fixes = read_geolife(geolife_dir / "003")
    fixes["time"] = fixes["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    fixes.to_csv(tmp_path / "003.csv", index=False)
    for name, source in (("folder", geolife_dir / "003"), ("csv", tmp_path / "003.csv")):
        assert (
            main(
                [
                    "mine",
                    str(source),
                    "--minsup",
                    "0.5",
                    "--out",
                    str(tmp_path / name),
                    "--quiet",
                    "--workers",
                    "1",
                ]
            )
            == 0
        )
    a = pd.read_parquet(tmp_path / "folder" / "cycles.parquet")
    b = pd.read_parquet(tmp_path / "csv" / "cycles.parquet")
    assert a["sequence"].map(list).tolist() == b["sequence"].map(list).tolist()


def test_bad_trace_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("user,location,time\nu,a,2024-01-01\nu,b,not-a-time\n")
    out = tmp_path / "out"
    assert main(["mine", str(bad), "--minsup", "0.5", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{bad}, line 3, column 'time'" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize(
    "args",
    [
        ["--minsup", "0"],
        ["--minsup", "1.5"],
        ["--minsup", "0.5", "--max-length", "0"],
        ["--minsup", "0.5", "--timezone", "Nowhere/City"],
    ],
)
def test_bad_options_fail_cleanly(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    assert main(["mine", str(gps_csv(tmp_path)), *args, "--out", str(out)]) == 1
    assert "mcsim: error:" in capsys.readouterr().err
    assert not out.exists()


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    trace = gps_csv(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["mine", str(trace), "--minsup", "0.5", "--out", str(out), "--quiet"]) == 1
    assert (out / "keep.txt").exists()
    assert (
        main(["mine", str(trace), "--minsup", "0.5", "--out", str(out), "--quiet", "--overwrite"])
        == 0
    )
    assert not (out / "keep.txt").exists() and (out / "patterns.parquet").exists()


def test_python_dash_m_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcsim", "mine", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "--minsup" in done.stdout
