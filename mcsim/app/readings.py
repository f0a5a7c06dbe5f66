"""The sensed dataset: every window the platform received in a run, written as a result.

A simulated day ends with the windows the platform received (``SimResult.readings``, float32
windows of the phones' 50 Hz accelerometer streams [g], fabricated ones included).
``mcsim run`` keeps them (scenario ``save_readings: true``, the default; off for huge runs)
in two files:

* ``readings.npy``: float32 (n, steps, 3) [g], axes x, y, z, 50 Hz;
* ``readings.parquet``: one row per window: ``variant, repetition, policy, user, task,
  location, sensed_s`` ([s from the cycle start] when the window starts, or when a claim
  came), ``activity`` (what the phone was doing: ``walking`` or ``standing`` for a genuine
  reading, as its task's context or, for ``any``, its visit's dwell said; ``laying`` for a
  ``resting`` forgery; ``none`` for a window no phone made), ``steps`` (samples in the
  window), ``row`` (its index in ``readings.npy``), ``context`` (the task's: ``any``,
  ``walking``, ``still``), ``conduct`` (``honest``, or the forgery's kind: ``noise``,
  ``resting``, ``replay``), ``verdict`` (the platform's: ``accepted``, ``replayed``,
  ``not_real``, ``wrong_activity``), ``p_real`` and ``judged_activity`` (the validator's
  realism score and activity; NaN and ``none`` without a validator). Rows come in
  (variant, repetition, policy, sensed time) order.

Loading takes two lines::

    windows = np.load("runs/campus/readings.npy")          # (n, steps, 3) float32 [g]
    index = pd.read_parquet("runs/campus/readings.parquet")  # windows[index["row"]]

With ``sensor: none`` the windows are the noise stand-in's. Variants that sweep
``reading_s`` have windows of different lengths: the shorter ones are padded with NaN to the
longest (``steps`` says how many samples are real).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcsim.app.pipeline import world_options
from mcsim.platform.validation import CONTEXTS, VERDICT_NAMES
from mcsim.sim import SimResult
from mcsim.sim.receiving import CONDUCTS
from mcsim.sim.sensing import ACTIVITY_NAMES, N_AXES

if TYPE_CHECKING:  # the job results that carry readings are defined above this module
    from mcsim.app.jobs import JobResult
    from mcsim.app.scenario import Scenario

INDEX_COLUMNS = ("variant", "repetition", "policy", "user", "task", "location", "sensed_s",
                 "activity", "steps", "row", "context", "conduct", "verdict", "p_real",
                 "judged_activity")  # fmt: skip


def no_windows(steps: int = 0) -> np.ndarray:
    """An empty float32 (0, steps, 3) array of windows."""
    return np.zeros((0, steps, N_AXES), dtype=np.float32)


def _named(codes: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """The names of integer codes (strings, as every text column of the results)."""
    return np.asarray(names, dtype=object)[codes.to_numpy(dtype=np.int64)]


def reading_table(result: SimResult) -> pd.DataFrame:
    """One row per window of ``result.readings``, in sensing-time order: ``user, task,
    location, sensed_s, activity, steps, context, conduct, verdict, p_real, judged_activity``
    and ``window`` (its row in ``result.readings``), read off the world's record.

    Raises:
        ValueError: a result without its per-reading record (built by hand).
    """
    checks = result.reading_checks
    pair = np.asarray(result.reading_pair, dtype=np.int64)
    if checks is None or len(checks) != len(pair):
        raise ValueError("the result carries no per-reading record (reading_checks)")
    pairs = result.pairs
    table = pd.DataFrame(
        {
            "user": pairs["user"].to_numpy()[pair],
            "task": pairs["task"].to_numpy()[pair],
            "location": pairs["location"].to_numpy()[pair],
            "sensed_s": pairs["sensed_s"].to_numpy(dtype=np.float64)[pair],
            "activity": _named(checks["activity"], ACTIVITY_NAMES),
            "steps": np.full(len(pair), result.readings.shape[1], dtype=np.int32),
            "window": np.arange(len(pair), dtype=np.int64),
            "context": _named(checks["context"], CONTEXTS),
            "conduct": _named(checks["conduct"], CONDUCTS),
            "verdict": _named(checks["verdict"], VERDICT_NAMES),
            "p_real": checks["p_real"].to_numpy(dtype=np.float64),
            "judged_activity": _named(checks["judged_activity"], ACTIVITY_NAMES),
        }
    )
    return table.sort_values(["sensed_s", "user", "task"], kind="stable", ignore_index=True)


def write_readings(folder: Path, scenario: Scenario, results: list[JobResult]) -> list[str]:
    """Write ``readings.npy`` and ``readings.parquet`` from the jobs' results (none in
    ``mode: allocate`` or without ``save_readings``); returns the file names written."""
    if scenario.mode != "simulate" or not scenario.save_readings:
        return []
    results = sorted(results, key=lambda r: (r.job.variant, r.job.repetition))
    parts = [(r.readings, r.reading_index) for r in results if len(r.reading_index)]
    steps = max((w.shape[1] for w, _ in parts), default=world_options(scenario).reading_steps)
    windows = [_padded(w, steps) for w, _ in parts]
    array = np.concatenate(windows) if windows else no_windows(steps)
    index = (
        pd.concat([i for _, i in parts], ignore_index=True)
        if parts
        else pd.DataFrame({c: [] for c in INDEX_COLUMNS if c != "row"})
    )
    index["row"] = np.arange(len(index), dtype=np.int64)
    np.save(folder / "readings.npy", array, allow_pickle=False)
    index[list(INDEX_COLUMNS)].to_parquet(folder / "readings.parquet", index=False)
    return ["readings.npy", "readings.parquet"]


def _padded(windows: np.ndarray, steps: int) -> np.ndarray:
    """``windows`` with NaN samples appended up to ``steps`` (a shorter ``reading_s``)."""
    short = steps - windows.shape[1]
    if not short:
        return windows.astype(np.float32, copy=False)
    return np.pad(windows.astype(np.float32), ((0, 0), (0, short), (0, 0)), constant_values=np.nan)
