"""How much memory and time a scenario will take, before it takes them.

A valid scenario can still be far too large for the machine (``n_users: 50000000``, a 3,650-day
city, 100,000 repetitions): it would run for hours or exhaust memory before failing. So
``mcsim validate`` shows a rough estimate, and ``mcsim run`` refuses a scenario past
:data:`MEMORY_LIMIT_GB` or :data:`TIME_LIMIT_S` unless the user opts in (``--allow-large``).

The figures are coarse on purpose (within a factor of about 2): they come from linear models
calibrated on this project's 2-core machine (README, "Benchmarks"): a synthetic user has
about 3.4 visits a day; a trace costs about 120 bytes per visit in memory and 1.5 us per visit
to generate and cut; a simulated day costs about 0.1 s plus 0.2 ms per user for each policy,
three times that with SenseGen phones; a task costs about 800 bytes in a simulated day; the
sensed dataset (``save_readings``) keeps at most one window (12 bytes a sample) per copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcsim.app.scenario import ScenarioFile
from mcsim.errors import MCSimError
from mcsim.sim.sensing import SAMPLE_RATE_HZ

MEMORY_LIMIT_GB = 8.0  # [GB] the project's memory budget for one run
TIME_LIMIT_S = 3600.0  # [s] runs estimated longer than this need --allow-large
VISITS_PER_USER_DAY = 3.4  # synthetic campus and city presets (10.3 M visits: 100k x 30 d)
BYTES_PER_VISIT = 120.0  # [B] trace and cycles in memory
BYTES_PER_TRACE_BYTE = 10.0  # [B/B] a trace file in memory (pandas) against its size
BYTES_PER_USER = 8_000.0  # [B] SimPy processes and per-user state of a simulated day
BYTES_PER_TASK = 800.0  # [B] a task in a simulated day (pool, positions, pending copies)
BYTES_PER_EVENT = 60.0  # [B] one row of events.parquet / assignments kept until the end
BYTES_PER_SAMPLE = 12.0  # [B] one 3-axis float32 sample of readings.npy, kept until the end
SECONDS_PER_VISIT = 1.5e-6  # [s] generating, cutting and mining a visit
SECONDS_PER_POLICY_DAY = 0.1  # [s] fixed cost of one policy's simulated day
SECONDS_PER_USER_DAY = 2e-4  # [s] per user, per policy and day
SENSEGEN_FACTOR = 3.3  # SenseGen phones against sensor: none (CPU time)
# Shipped sensors with other measured factors (benchmarks/bench_scale_sensing.py, CPU time)
SENSOR_FACTORS = {"none": 1.0, "sensegen-small": 1.85, "sensegen-small-bf16": 1.6}
SECONDS_PER_ALLOCATION = 0.01  # [s] one policy allocating one pool (mode: allocate)
BASE_GB = 0.4  # [GB] the interpreter with numpy, pandas and scipy loaded (+0.3 with torch)


@dataclass(frozen=True)
class Estimate:
    """A scenario's rough size: population, trace, memory peak and wall time."""

    users: int  # 0: unknown until a trace file is read
    visits: float
    jobs: int
    memory_gb: float
    seconds: float

    @property
    def too_large(self) -> bool:
        return self.memory_gb > MEMORY_LIMIT_GB or self.seconds > TIME_LIMIT_S

    def __str__(self) -> str:
        users = f"about {self.users:,} users, " if self.users else ""
        return (
            f"{users}{self.visits:,.0f} trace visits, {self.jobs:,} jobs: "
            f"~{self.memory_gb:.2g} GB peak memory, ~{_duration(self.seconds)}"
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(file: ScenarioFile) -> Estimate:
    """The largest variant's memory and the whole run's time (jobs over workers)."""
    memory, seconds, users_max, visits_max = 0.0, 0.0, 0, 0.0
    for variant in file.variants:
        s = variant.scenario
        if s.trace.synthetic is not None:
            config = s.trace.synthetic.campus_config()
            users, days = int(config.n_users), int(s.trace.synthetic.days)
            visits = users * days * VISITS_PER_USER_DAY
            trace_bytes = visits * BYTES_PER_VISIT
        else:
            assert s.trace.file is not None
            size = _size(s.trace.file.path)
            users, visits = 0, size / 40.0  # ~40 bytes a row
            trace_bytes = size * BYTES_PER_TRACE_BYTE
        if s.mobility.users is not None:
            days = max(1, int(visits / max(users, 1) / VISITS_PER_USER_DAY))
            users = s.mobility.users
            visits += users * days * VISITS_PER_USER_DAY
            trace_bytes = visits * BYTES_PER_VISIT
        day_visits = users * VISITS_PER_USER_DAY
        policies = len(s.policies)
        kept = s.repetitions * policies * (s.tasks.copies + (day_visits if s.log_visits else 0))
        sensed = s.save_readings and s.mode == "simulate"
        windows = (
            s.repetitions * policies * s.tasks.copies * s.reading_s * SAMPLE_RATE_HZ
            if sensed
            else 0
        )
        memory = max(
            memory,
            trace_bytes
            + users * BYTES_PER_USER
            + s.tasks.count * BYTES_PER_TASK
            + kept * BYTES_PER_EVENT
            + windows * BYTES_PER_SAMPLE,
        )
        per_day = SECONDS_PER_POLICY_DAY + users * SECONDS_PER_USER_DAY
        if s.mode == "allocate":
            per_day = SECONDS_PER_ALLOCATION
        else:
            per_day *= SENSOR_FACTORS.get(s.sensor, SENSEGEN_FACTOR)
        work = s.repetitions * policies * per_day
        seconds += visits * SECONDS_PER_VISIT + work / max(1, min(s.workers, s.repetitions))
        users_max, visits_max = max(users_max, users), max(visits_max, visits)
    jobs = len(file.variants) * file.scenario.repetitions
    torch = any(v.scenario.sensor != "none" for v in file.variants)
    return Estimate(users_max, visits_max, jobs, BASE_GB + 0.3 * torch + memory / 1e9, seconds)


def _size(path: Path) -> float:
    target = Path(path)
    if target.is_dir():
        return float(sum(p.stat().st_size for p in target.rglob("*") if p.is_file()))
    return float(target.stat().st_size) if target.exists() else 0.0


def check_size(file: ScenarioFile, *, allow_large: bool) -> Estimate:
    """The estimate, or a refusal naming the limit when it is past one and not allowed.

    Raises:
        MCSimError: the run would exceed :data:`MEMORY_LIMIT_GB` or :data:`TIME_LIMIT_S`.
    """
    found = estimate(file)
    if found.too_large and not allow_large:
        over = []
        if found.memory_gb > MEMORY_LIMIT_GB:
            over.append(f"{MEMORY_LIMIT_GB:g} GB of memory")
        if found.seconds > TIME_LIMIT_S:
            over.append(f"{_duration(TIME_LIMIT_S)}")
        raise MCSimError(
            f"{file.path}: the run is estimated past {' and '.join(over)} ({found}); reduce "
            "users, days, tasks or repetitions, or pass --allow-large to run it anyway"
        )
    return found
