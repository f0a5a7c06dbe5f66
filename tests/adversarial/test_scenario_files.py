"""Hostile and careless scenario files: each is refused in one line naming file, key and why.

Every case edits the small valid scenario (one key replaced, added or broken) and runs
``mcsim validate`` and, for a sample, ``mcsim run``: exit 1, one line, the file and the key
path named, nothing created.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.helpers import SMALL, Outcome

# (case id, text replacing the small scenario, key path named, fragment of the reason)
BAD_VALUES: list[tuple[str, str, str, str]] = [
    ("seed negative", "seed: -1", "seed", "greater than or equal to 0"),
    ("seed huge", "seed: 99999999999999999999", "seed", "less than or equal to"),
    ("seed text", "seed: abc", "seed", "valid integer"),
    ("seed bool", "seed: true", "seed", "valid integer"),
    ("seed float", "seed: 1.5", "seed", "valid integer"),
    ("seed list", "seed: [1]", "seed", "valid integer"),
    ("g zero", "g: 0", "g", "greater than or equal to 1"),
    ("g yes", "g: yes", "g", "valid integer"),
    ("g float", "g: 2.5", "g", "valid integer"),
    ("g text", "g: '4'", "g", "valid integer"),
    ("g null", "g: null", "g", "valid integer"),
    ("repetitions zero", "repetitions: 0", "repetitions", "greater than or equal to 1"),
    ("repetitions text", "repetitions: '5'", "repetitions", "valid integer"),
    ("repetitions huge", "repetitions: 1000000", "repetitions", "less than or equal to"),
    ("workers zero", "workers: 0", "workers", "greater than or equal to 1"),
    ("workers bool", "workers: false", "workers", "valid integer"),
    ("reading_s zero", "reading_s: 0", "reading_s", "greater than 0"),
    ("reading_s text", "reading_s: long", "reading_s", "valid number"),
    ("walking_dwell_s negative", "walking_dwell_s: -5", "walking_dwell_s", "greater than or"),
    ("sensor_activity text", "sensor_activity: 'yes'", "sensor_activity", "valid boolean"),
    ("sensor_activity int", "sensor_activity: 1", "sensor_activity", "valid boolean"),
    ("log_visits text", "log_visits: 'no'", "log_visits", "valid boolean"),
    ("save_readings text", "save_readings: 'no'", "save_readings", "valid boolean"),
    ("save_readings int", "save_readings: 0", "save_readings", "valid boolean"),
    ("mode unknown", "mode: fast", "mode", "'simulate' or 'allocate'"),
    ("sensor unknown", "sensor: gan", "sensor", "unknown sensor 'gan'"),
    ("sensor missing file", "sensor: nowhere.pt", "sensor", "no such checkpoint"),
    ("name list", "name: [a]", "name", "valid string"),
    ("policies empty", "policies: []", "policies", "at least 1 item"),
    ("policies unknown", "policies: [MDX]", "policies", "unknown policy 'MDX'"),
    ("policies bad param", "policies: [{name: IU1, params: {delta: 7}}]", "policies", "delta"),
    ("policies unknown param", "policies: [{name: MDP, params: {speed: 1}}]", "policies", "speed"),
    ("policies bad path", "policies: ['nowhere.mod:Cls']", "policies", "cannot import module"),
    ("policies twice", "policies: [MDP, MDP]", "policies", "appears twice"),
    ("policies not a list", "policies: MDP", "policies", "valid list"),
    ("unknown top key", "colour: red", "colour", "unknown key"),
    ("sweep of seed", "sweep: {seed: [1, 2]}", "sweep.seed", "cannot be swept"),
    ("sweep empty", "sweep: {g: []}", "sweep.g", "non-empty list"),
    ("sweep not a list", "sweep: {g: 4}", "sweep.g", "valid list"),
    ("sweep bad value", "sweep: {g: [1, 0]}", "g", "greater than or equal to 1"),
    ("sweep unknown key", "sweep: {colour: [red]}", "colour", "unknown key"),
    ("output list", "output: [a]", "output", "path"),
]
BAD_SECTIONS: list[tuple[str, str, str, str, str]] = [
    # (case id, section line to replace, replacement, key path, reason)
    ("days too few", "synthetic: {preset: wtd, days: 31}", "synthetic: {preset: wtd, days: 1}",
     "trace.synthetic.days", "greater than or equal to 2"),
    ("days too many", "synthetic: {preset: wtd, days: 31}",
     "synthetic: {preset: wtd, days: 99999}", "trace.synthetic.days", "less than or equal"),
    ("preset unknown", "synthetic: {preset: wtd, days: 31}",
     "synthetic: {preset: mars, days: 31}", "trace.synthetic.preset", "unknown preset"),
    ("campus param text", "synthetic: {preset: wtd, days: 31}",
     "synthetic: {preset: wtd, days: 31, params: {n_users: abc}}",
     "trace.synthetic.params.n_users", "expected an integer"),
    ("campus param unknown", "synthetic: {preset: wtd, days: 31}",
     "synthetic: {preset: wtd, days: 31, params: {n_userz: 5}}",
     "trace.synthetic.params.n_userz", "unknown campus parameter"),
    ("campus param bool", "synthetic: {preset: wtd, days: 31}",
     "synthetic: {preset: wtd, days: 31, params: {n_aps: true}}",
     "trace.synthetic.params.n_aps", "expected an integer"),
    ("two traces", "synthetic: {preset: wtd, days: 31}",
     "synthetic: {preset: wtd, days: 31}\n  file: {path: small.yaml}", "trace", "exactly one"),
    ("no trace source", "synthetic: {preset: wtd, days: 31}", "{}", "trace", "exactly one"),
    ("trace file missing", "synthetic: {preset: wtd, days: 31}", "file: {path: none.csv}",
     "trace.file.path", "no such file"),
    ("trace file bad zone", "synthetic: {preset: wtd, days: 31}",
     "file: {path: small.yaml, timezone: Mars/Base}", "trace.file.timezone", "unknown time zone"),
    ("trace file format", "synthetic: {preset: wtd, days: 31}",
     "file: {path: small.yaml, format: xml}", "trace.file.format", "'ap', 'gps' or 'geolife'"),
    ("split two rules", "split: {train_cycles: 30}",
     "split: {train_cycles: 30, train_fraction: 0.5}", "split", "exactly one"),
    ("split zero", "split: {train_cycles: 30}", "split: {train_cycles: 0}",
     "split.train_cycles", "greater than or equal to 1"),
    ("split fraction one", "split: {train_cycles: 30}", "split: {train_fraction: 1.0}",
     "split.train_fraction", "less than 1"),
    ("split date text", "split: {train_cycles: 30}", "split: {test_from: someday}",
     "split.test_from", "valid date"),
    ("minsup zero", "mining: {minsup: 0.5, max_length: 4}", "mining: {minsup: 0}",
     "mining.minsup", "greater than 0"),
    ("minsup above one", "mining: {minsup: 0.5, max_length: 4}", "mining: {minsup: 1.5}",
     "mining.minsup", "less than or equal to 1"),
    ("max_length zero", "mining: {minsup: 0.5, max_length: 4}",
     "mining: {minsup: 0.5, max_length: 0}", "mining.max_length", "greater than or equal"),
    ("mining unknown", "mining: {minsup: 0.5, max_length: 4}",
     "mining: {minsup: 0.5, depth: 3}", "mining.depth", "unknown key"),
    ("count zero", "  count: 12", "  count: 0", "tasks.count", "greater than or equal to 1"),
    ("count huge", "  count: 12", "  count: 100000000", "tasks.count", "less than or equal"),
    ("copies below count", "  copies: 24", "  copies: 5", "tasks.copies", "between count"),
    ("copies above cap", "  copies: 24", "  copies: 100", "tasks.copies", "between count"),
    ("max_copies huge", "  copies: 24", "  copies: 24\n  max_copies: 1000000000000000000",
     "tasks.max_copies", "less than or equal to 1000"),
    ("publish reversed", "  publish: {start_h: 4, end_h: 8, batches: 2}",
     "  publish: {start_h: 8, end_h: 4, batches: 2}", "tasks.publish.end_h", "end_h >="),
    ("publish past cycle", "  publish: {start_h: 4, end_h: 8, batches: 2}",
     "  publish: {start_h: 4, end_h: 30, batches: 2}", "tasks.publish", "within the cycle"),
    ("batches without end", "  publish: {start_h: 4, end_h: 8, batches: 2}",
     "  publish: {start_h: 4, batches: 2}", "tasks.publish.end_h", "several batches"),
    ("deadline zero", "  deadline_h: 6", "  deadline_h: 0", "tasks.deadline_h", "greater than 0"),
    ("locations unknown", "  locations: frequent", "  locations: anywhere",
     "tasks.locations", "'uniform', 'visits' or 'frequent'"),
    ("carry_over text", "  locations: frequent", "  locations: frequent\n  carry_over: maybe",
     "tasks.carry_over", "valid boolean"),
    ("cycle length zero", "g: 4", "g: 4\ncycles: {length_h: 0}", "cycles.length_h",
     "greater than 0"),
    ("cycle origin 24", "g: 4", "g: 4\ncycles: {origin_hour: 24}", "cycles.origin_hour",
     "less than 24"),
    ("cycle zone", "g: 4", "g: 4\ncycles: {timezone: Nowhere/City}", "cycles.timezone",
     "unknown time zone"),
    ("source unknown", "g: 4", "g: 4\nmobility: {source: teleport}", "mobility.source",
     "unknown mobility source"),
    ("virtual users without patterns", "g: 4", "g: 4\nmobility: {source: replay, users: 10}",
     "mobility.users", "needs source 'patterns'"),
    ("virtual users zero", "g: 4", "g: 4\nmobility: {source: patterns, users: 0}",
     "mobility.users", "greater than or equal to 1"),
]  # fmt: skip
BAD_YAML: list[tuple[str, str, str]] = [
    ("python tag", "seed: !!python/object/apply:os.system ['echo hi']", "never executed"),
    ("custom tag", "seed: !secret 1", "unsupported tag"),
    ("duplicate key", "g: 4\ng: 5", "duplicate key 'g'"),
    ("tab indentation", "tasks:\n\tcount: 3", "invalid YAML"),
    ("unclosed bracket", "policies: [MDP", "invalid YAML"),
    ("top-level list", "- a\n- b", "mapping"),
    ("top-level scalar", "just text", "mapping"),
    ("empty file", "", "empty"),
    ("only a comment", "# nothing here", "empty"),
    ("deep nesting", "x: " + "[" * 3000 + "]" * 3000, "nested deeper than 64 levels"),
    ("alias bomb", "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
     + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
               for p, c in zip("abcdefg", "bcdefgh", strict=True)), "alias"),
    ("non-UTF-8", "seed: \udcff1", "not UTF-8"),
]  # fmt: skip


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def _replaced(line_start: str, replacement: str) -> str:
    lines = SMALL.splitlines()
    key = line_start.split(":")[0]
    hits = [i for i, line in enumerate(lines) if line.split(":")[0] == key]
    if hits:
        lines[hits[0]] = replacement
        return "\n".join(lines) + "\n"
    return SMALL + replacement + "\n"


@pytest.mark.parametrize(
    ("case", "line", "key", "reason"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES]
)
def test_bad_value(
    case: str, line: str, key: str, reason: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    path = _write(tmp_path, _replaced(line, line))
    mcsim("validate", path).one_line_error(str(path), f"'{key}", reason)


@pytest.mark.parametrize(
    ("case", "old", "new", "key", "reason"), BAD_SECTIONS, ids=[c[0] for c in BAD_SECTIONS]
)
def test_bad_section(
    case: str,
    old: str,
    new: str,
    key: str,
    reason: str,
    tmp_path: Path,
    mcsim: Callable[..., Outcome],
    small: Path,
) -> None:
    assert old in SMALL
    path = _write(tmp_path, SMALL.replace(old, new))
    mcsim("validate", path).one_line_error(str(path), f"'{key}'", reason)


@pytest.mark.parametrize(("case", "text", "reason"), BAD_YAML, ids=[c[0] for c in BAD_YAML])
def test_bad_yaml(
    case: str, text: str, reason: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    if text.startswith("seed:"):  # replaces the scenario's seed line
        text = SMALL.replace("seed: 7", text)
    elif case in ("duplicate key", "tab indentation", "unclosed bracket"):
        text = SMALL + text
    path = _write(tmp_path, text)
    mcsim("validate", path).one_line_error(str(path), reason)


@pytest.mark.parametrize(
    "case", ["g yes", "policies unknown", "sweep bad value", "sensor unknown", "count huge"]
)
def test_a_bad_run_writes_nothing(case: str, tmp_path: Path, mcsim: Callable[..., Outcome]) -> None:
    line = next(c[1] for c in BAD_VALUES + [(c[0], c[2], "", "") for c in BAD_SECTIONS]
                if c[0] == case)  # fmt: skip
    text = _replaced(line, line) if case != "count huge" else SMALL.replace("  count: 12", line)
    path = _write(tmp_path, text)
    before = sorted(p.name for p in tmp_path.iterdir())
    mcsim("run", path, "--out", tmp_path / "out").one_line_error(str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_merge_keys_and_x_anchors_are_valid(tmp_path: Path, mcsim: Callable[..., Outcome]) -> None:
    text = "x-pool: &pool {count: 12, copies: 24}\n" + SMALL.replace(
        "  count: 12\n  copies: 24\n", "  <<: *pool\n"
    )
    result = mcsim("validate", _write(tmp_path, text))
    assert result.code == 0 and "ok" in result.out


def test_a_huge_sweep_is_refused_before_it_is_expanded(
    tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    keys = ["g", "repetitions", "tasks.count", "workers", "reading_s", "walking_dwell_s",
            "trace.synthetic.days", "mining.max_length"]  # fmt: skip
    sweep = "".join(f"  {k}: [{', '.join(str(i + 2) for i in range(10))}]\n" for k in keys)
    path = _write(tmp_path, SMALL + "sweep:\n" + sweep)
    mcsim("validate", path).one_line_error(str(path), "'sweep'", "100,000,000 variants")


@pytest.mark.usefixtures("no_bfloat16_lstm")
def test_a_bfloat16_sensor_this_cpu_cannot_run_stops_the_run_before_it_starts(
    small: Path, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    """A CPU without AVX-512 has no bfloat16 LSTM in oneDNN (an AMD EPYC with AVX2 crashed at
    the first reading of a run): now one line names the precision and the float32 sensors,
    before any job, and no results folder is made."""
    out = tmp_path / "out"
    mcsim("run", small, "--set", "sensor=sensegen-small-bf16", "--out", out).one_line_error(
        "precision 'bf16' does not run on this cpu", "sensegen-small"
    )
    assert not out.exists()
