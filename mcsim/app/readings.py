"""The sensed dataset: every window the platform received in a run, written as a result.

A simulated day ends with the readings of its completed copies (``SimResult.readings``,
float32 windows of the phones' 50 Hz accelerometer streams [g]). ``mcsim run`` keeps them
(scenario ``save_readings: true``, the default; off for huge runs) in two files:

* ``readings.npy``: float32 (n, steps, 3) [g], axes x, y, z, 50 Hz;
* ``readings.parquet``: one row per window: ``variant, repetition, policy, user, task,
  location, sensed_s`` ([s from the cycle start] when the window starts), ``activity`` (what
  the phone was doing: ``walking`` on a visit shorter than ``walking_dwell_s``, else
  ``standing``: the state the SenseGen phones are conditioned on under ``sensor_activity``),
  ``steps`` (samples in the window) and ``row`` (its index in ``readings.npy``). Rows come in
  (variant, repetition, policy, sensed time) order.

Loading takes two lines::

    windows = np.load("runs/campus/readings.npy")          # (n, steps, 3) float32 [g]
    index = pd.read_parquet("runs/campus/readings.parquet")  # windows[index["row"]]

With ``sensor: none`` the windows are the noise stand-in's. Variants that sweep
``reading_s`` have windows of different lengths: the shorter ones are padded with NaN to the
longest (``steps`` says how many samples are real).

The world does not record the activity of a reading; it is recovered here from the day plan
with the world's own rule (:func:`mcsim.sim.sensing.activity_for_dwell` on the dwell of the
visit the reading was taken on), so the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcsim.app.pipeline import world_options
from mcsim.sim import DayPlan, SimResult
from mcsim.sim.sensing import HAPT_STANDING, HAPT_WALKING, N_AXES, activity_for_dwell

if TYPE_CHECKING:  # the job results that carry readings are defined above this module
    from mcsim.app.jobs import JobResult
    from mcsim.app.scenario import Scenario

ACTIVITY_NAMES = {HAPT_WALKING: "walking", HAPT_STANDING: "standing"}
INDEX_COLUMNS = ("variant", "repetition", "policy", "user", "task", "location", "sensed_s",
                 "activity", "steps", "row")  # fmt: skip
_MATCH_TOLERANCE_S = 1e-6  # [s] a sensing time may lie a float off its arrival (the clock)


def no_windows(steps: int = 0) -> np.ndarray:
    """An empty float32 (0, steps, 3) array of windows."""
    return np.zeros((0, steps, N_AXES), dtype=np.float32)


def reading_table(result: SimResult, day: DayPlan, walking_dwell_s: float) -> pd.DataFrame:
    """One row per window of ``result.readings``, in sensing-time order: ``user, task,
    location, sensed_s, activity, steps`` and ``window`` (its row in ``result.readings``).

    Args:
        result: the simulated day.
        day: the day plan it ran on (to find the visit each reading was taken on).
        walking_dwell_s: [s] the world's threshold: shorter visits are sensed while walking.

    Raises:
        ValueError: a reading lies on no visit of its user at its location (the world and
            the plan disagree).
    """
    pairs = result.pairs
    pair = np.asarray(result.reading_pair, dtype=np.int64)
    user = pairs["user"].to_numpy()[pair]
    location = pairs["location"].to_numpy()[pair]
    sensed = pairs["sensed_s"].to_numpy(dtype=np.float64)[pair]
    dwell = _dwell_of_visit(day, user, location, sensed)
    table = pd.DataFrame(
        {
            "user": user,
            "task": pairs["task"].to_numpy()[pair],
            "location": location,
            "sensed_s": sensed,
            "activity": [ACTIVITY_NAMES[activity_for_dwell(d, walking_dwell_s)] for d in dwell],
            "steps": np.full(len(pair), result.readings.shape[1], dtype=np.int32),
            "window": np.arange(len(pair), dtype=np.int64),
        }
    )
    return table.sort_values(["sensed_s", "user", "task"], kind="stable", ignore_index=True)


def _dwell_of_visit(
    day: DayPlan, user: np.ndarray, location: np.ndarray, sensed: np.ndarray
) -> np.ndarray:
    """[s] Dwell of the visit each reading was taken on: the user's latest arrival at the
    location at or before the sensing time (the sensing rule senses inside a visit)."""
    n_visits, n = len(day), len(user)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    visit_user = day.user_of_visit()
    # Visits and readings in one order, by (user, location, time), a visit before a reading
    # at the same time: the latest visit before a reading is then its visit, if any is.
    users = np.concatenate((visit_user, user)).astype(np.int64)
    locations = np.concatenate((day.location, location)).astype(np.int64)
    times = np.concatenate((day.arrival, sensed + _MATCH_TOLERANCE_S))
    is_reading = np.concatenate((np.zeros(n_visits, bool), np.ones(n, bool)))
    order = np.lexsort((is_reading, times, locations, users))
    last = np.maximum.accumulate(np.where(is_reading[order], -1, np.arange(len(order))))
    ranks = np.flatnonzero(is_reading[order])
    reading = order[ranks] - n_visits
    visit = order[np.maximum(last[ranks], 0)]  # a visit wherever last >= 0
    ok = last[ranks] >= 0
    visit = np.where(ok, visit, 0)
    if n_visits:
        ok &= (visit_user[visit] == user[reading]) & (day.location[visit] == location[reading])
        ok &= sensed[reading] <= day.departure[visit] + _MATCH_TOLERANCE_S
    if not ok.all():
        bad = reading[~ok][0]
        raise ValueError(
            f"the reading of user {user[bad]} at location {location[bad]} at {sensed[bad]} s "
            "lies on no visit of the day plan"
        )
    dwell = np.empty(n, dtype=np.float64)
    dwell[reading] = day.departure[visit] - day.arrival[visit]
    return dwell


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
