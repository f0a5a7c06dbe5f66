"""The SimPy world: users moving through a simulated day, a platform publishing tasks, phones.

The users' whole day is known in advance (a :class:`~mcsim.sim.days.DayPlan`), and the
platform looks at them only at its decision points, so the world does not walk each user
through its visits with SimPy events (a 100,000-user day has millions of them). A day costs
O(decisions + sensed copies) SimPy events:

* one *platform* process: at each publish time it pauses the clock at a **decision point**
  (:meth:`World.run_until_decision` returns a :class:`Decision` with the open tasks and the
  :class:`~mcsim.platform.allocation.PlatformState`), waits for :meth:`World.apply`, records the
  assignment and lets the day go on. A closed loop (:func:`simulate`) asks a policy; a
  Gymnasium env can instead answer each decision step by step;
* one *sensing* event per assigned copy that will be sensed: when a copy is assigned, the
  plan says when its user senses it (the rule below), and the event, scheduled then, completes
  the copy at that moment (requests the reading, logs the completion, counts it in
  :attr:`World.completed`).

Users report where they arrive. At a decision, a user's last reported location is read off
the plan (:class:`~mcsim.sim.reports.Reports`: its latest arrival before the decision; before
its first one, where the knowledge last saw it); the visits are sorted by arrival once, so the
platform's view moves forward by a searchsorted per decision.

**Sensing rule.** A copy of task t assigned to user u at time a (the decision time) has the
sensing window W = [max(publish_t, a), deadline_t]. It is completed iff u has a visit at
t's location whose closed interval [arrival, departure] intersects W, i.e.
``arrival <= deadline_t`` and ``departure >= max(publish_t, a)``; u senses at the first such
moment, ``max(arrival, start of W)`` (at the decision itself when u is already there). A user
who left before publication or assignment, or who arrives after the deadline, does not
complete it. A copy is completed at most once.

**Equal times.** The world keeps, bit for bit, the outcome of the per-visit world it replaced
(one SimPy process per user sleeping from arrival to arrival), down to its ties:

* at equal times the platform decides before users arrive (its wake-ups are URGENT): a
  decision's state holds the arrivals strictly before it. A user's first arrival at the
  decision's very instant is reported before :meth:`World.run_until_decision` hands the
  decision out (the user is "already there" when assigned; a copy it held there is sensed
  then), its further arrivals at that instant after the answer. A sensing event's priority,
  NORMAL + the rank of the arrival among its user's arrivals at that instant, against the
  hand-out's, NORMAL + 2 x the decisions already taken at that instant (publish times one
  float apart can make two), keeps that order, so :attr:`World.completed` counts what the
  per-visit world counted at every step;
* a user's arrival happens at the clock reading its process reached, ``now + (arrival -
  now)`` from its previous arrival, which SimPy rounds one float away from ``arrival`` for
  about 2 % of float64 times (never for whole seconds); sensing times are those readings.

Readings go through :class:`~mcsim.sim.sensing.ReadingBuffer`: requested when sensed,
generated when the day's results are first read, in one batched call (a SenseGen call costs
about the same for 1 or 60 phones, so one call per decision would multiply the cost); worlds
that share a buffer (a runner job's policies) are generated together. Visit events are not
logged one by one (100,000 users make millions): the visit log is materialised from the plan
when the result is built.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import simpy
from simpy.events import NORMAL, EventPriority

from mcsim.mining.cycles import CycleTable
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase
from mcsim.mining.windows import VisitWindows
from mcsim.platform.allocation import Assignment, PlatformState, check_assignment
from mcsim.platform.metrics import DayRecord
from mcsim.platform.tasks import TaskBatch
from mcsim.platform.validation import ACCEPTED, ReadingValidator
from mcsim.readonly import read_only
from mcsim.sim.clock import Clock, succeeded, urgent_timeout
from mcsim.sim.days import DayPlan
from mcsim.sim.receiving import (
    HONEST,
    NO_ACTIVITY,
    RESTING,
    Inbox,
    check_validator,
    receive,
)
from mcsim.sim.reports import Reports, day_statics
from mcsim.sim.sensing import (
    HAPT_LAYING,
    SAMPLE_RATE_HZ,
    Reading,
    ReadingBuffer,
    SensorGenerator,
    activity_for_context,
)

EVENT_KINDS = ("publish", "allocate", "visit", "reading", "complete")
#: The empty event log of ``World.result(events=False)``.
_NO_EVENTS = pd.DataFrame(
    {
        "time_s": np.zeros(0),
        "kind": pd.Categorical.from_codes(np.zeros(0, np.int8), categories=pd.Index(EVENT_KINDS)),
        "user": np.zeros(0, np.int32),
        "task": np.zeros(0, np.int64),
        "location": np.zeros(0, np.int32),
        "value": np.zeros(0),
    }
)
_PUBLISH, _ALLOCATE, _VISIT, _READING, _COMPLETE = range(len(EVENT_KINDS))
#: The pair table's recorded columns (``completed`` and ``sensed_s`` follow them).
_PAIR_DTYPES = {
    "decision": np.int32,
    "assigned_s": np.float64,
    "user": np.int32,
    "task": np.int64,
    "location": np.int32,
    "coverage": np.float64,
}


@dataclass(frozen=True, eq=False)
class Knowledge:
    """What the platform learned from the training cycles (never the simulated day)."""

    patterns: PatternBase
    location_model: LocationModel
    locations: Locations
    initial_location: np.ndarray | None = None  # int32 per user: last location reported
    # before the day (e.g. the end of its last training cycle), -1 if none; None: all -1
    windows: VisitWindows | None = None  # when users were where (time of day); the patterns
    # and p(loc | u) ignore it, the sensing rule does not. None: not mined (hand-built)

    def __post_init__(self) -> None:
        if self.initial_location is not None:
            read_only(self.initial_location)

    @classmethod
    def from_training(
        cls, train: CycleTable, patterns: PatternBase, locations: Locations
    ) -> Knowledge:
        """Knowledge mined from training cycles; a user's initial location is where its last
        training cycle ended (the last report the platform received from it). The visit
        windows span the training cycles' calendar days (built lazily, on a policy's first
        query, so runs that never ask pay nothing)."""
        starts, stops = train.user_bounds()
        has = stops > starts
        initial = np.full(len(train.users), -1, dtype=np.int32)
        initial[has] = train.location[train.offsets[stops[has]] - 1]
        return cls(
            patterns,
            LocationModel.from_cycles(train),
            locations,
            initial,
            VisitWindows.from_cycles(train),
        )

    def initial_state(self, g: int) -> PlatformState:
        """The platform before the day's first decision: no load, nothing held, each user last
        seen where its training history ended."""
        return PlatformState(
            patterns=self.patterns,
            location_model=self.location_model,
            locations=self.locations,
            g=g,
            load=np.zeros(len(self.patterns.users), dtype=np.int32),
            last_location=self.last_locations(),
            windows=self.windows,
        )

    def last_locations(self) -> np.ndarray:
        """A fresh int32 array: each user's last reported location before the day (-1: none)."""
        if self.initial_location is None:
            return np.full(len(self.patterns.users), -1, dtype=np.int32)
        return self.initial_location.astype(np.int32)


@dataclass(frozen=True)
class WorldOptions:
    """Rules of the simulated day that are not part of the population or the task pool."""

    g: int = 6  # workload cap: tasks per user over the day
    reading_s: float = 2.56  # [s] length of one reading window (128 samples at 50 Hz)
    walking_dwell_s: float = 120.0  # [s] visits shorter than this are sensed while walking
    # Ask the phones for walking/standing readings (False: the paper's unconditioned SenseGen).
    condition_on_activity: bool = True
    carry_over: bool = True  # offer copies left unassigned again at later decisions
    # What counts as a completed copy: every reading received (claims included), or only
    # those the platform's validator accepted (mcsim.sim.receiving).
    count: Literal["received", "accepted"] = "received"
    min_p_real: float = 0.5  # the validator's realism threshold

    @property
    def reading_steps(self) -> int:
        """Samples per reading window."""
        return max(1, round(self.reading_s * SAMPLE_RATE_HZ))


@dataclass(frozen=True, eq=False)
class Decision:
    """A point where the clock is paused and a decision maker must allocate ``tasks``.

    Attributes:
        index: 0-based decision number within the day.
        time_s: the decision time [s from cycle start].
        tasks: the open tasks (published, copies still needed, deadline not passed); ``copies``
            holds the copies still needed.
        state: what the platform knows now.
    """

    index: int
    time_s: float
    tasks: TaskBatch
    state: PlatformState


class DecisionMaker(Protocol):
    """Anything with the policies' ``allocate`` method (a policy, or an agent wrapper)."""

    def allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment: ...


@dataclass(frozen=True, eq=False)
class SimResult:
    """Everything a simulated day produced.

    Attributes:
        pairs: one row per assigned (user, task) copy: ``decision``, ``assigned_s``, ``user``,
            ``task``, ``location``, ``coverage`` (the policy's claim), ``completed``,
            ``sensed_s`` (NaN when not completed).
        decisions: one row per decision: ``decision``, ``time_s``, ``tasks``, ``copies``
            (copies offered), ``assigned``, ``iterations``, ``seconds``, ``unassigned``.
        events: the event log: ``time_s``, ``kind`` (publish, allocate, visit, reading,
            complete), ``user``, ``task``, ``location`` (-1 where not applicable), ``value``
            (copies for publish, claimed coverage for allocate, dwell [s] for visit, RMS
            acceleration [g] for reading, sensing delay after assignment [s] for complete).
        readings: float32 (n_readings, steps, 3) windows [g], row i completing
            ``reading_pair[i]``.
        reading_pair: int64 pair index (row of ``pairs``) of each reading.
        unassigned: copies never assigned by the end of the day.
        published: copies published during the day (sum of c_i over the day's tasks).
        active: bool per user: the user has at least one visit in the day.
        visits: visits made (all the plan's: the day is over).
        sensor_calls: batched generator calls made for the readings (of every world sharing
            the day's reading buffer).
        published: copies published during the day (sum of c_i over the day's tasks).
        reading_checks: one row per reading (aligned with ``readings``): ``activity`` (HAPT
            id of what the phone was doing, 0 for a window no phone made), ``context`` (of
            the copy's task, :data:`mcsim.platform.validation.CONTEXTS` code), ``conduct``
            (0 genuine, else the fabrication kind of :data:`mcsim.sim.receiving.CONDUCTS`),
            ``verdict`` (:data:`mcsim.platform.validation.VERDICT_NAMES` code), ``p_real``
            and ``judged_activity`` (the validator's view; NaN and 0 without one). None: no
            record (a result built by hand).
    """

    pairs: pd.DataFrame
    decisions: pd.DataFrame
    events: pd.DataFrame
    readings: np.ndarray
    reading_pair: np.ndarray
    unassigned: int
    active: np.ndarray
    visits: int
    sensor_calls: int
    published: int
    reading_checks: pd.DataFrame | None = None


class World:
    """One simulated day of one population under one task pool, steppable at decisions.

    Args:
        day: the users' visits for the day (user codes as in the knowledge).
        tasks: the full task pool; tasks are published at their ``publish_s``.
        knowledge: the platform's training knowledge.
        options: rules of the day (g, reading length, ...).
        sensor: the phones' generator, or None for no readings (completion is still counted).
        sensor_seed: seed of the phones' readings and of the forgeries (from the scenario's
            seed sequence).
        readings: a buffer shared with other worlds of the same day, sensor and seed (made by
            :func:`day_readings`), whose readings are then generated together; None: the
            world makes its own from ``sensor``.
        conduct: int8 per user, :data:`mcsim.sim.receiving.CONDUCTS` code (None: all honest).
        validator: the platform's check of the readings it receives (None: all accepted);
            needs a sensor.

    Raises:
        ValueError: shared readings of another seed, a validator without a sensor or unfit
            for the windows, a conduct array of another length.
    """

    def __init__(
        self,
        day: DayPlan,
        tasks: TaskBatch,
        knowledge: Knowledge,
        options: WorldOptions | None = None,
        *,
        sensor: SensorGenerator | None = None,
        sensor_seed: int = 0,
        readings: ReadingBuffer | None = None,
        conduct: np.ndarray | None = None,
        validator: ReadingValidator | None = None,
    ) -> None:
        self.options = options or WorldOptions()
        self.knowledge = knowledge
        self.day = day
        self.n_users = len(knowledge.patterns.users)
        if day.n_users != self.n_users:
            raise ValueError(f"day plan has {day.n_users} users, the knowledge {self.n_users}")
        self.env = Clock()
        self._pool = tasks
        self._position = dict(zip(tasks.id.tolist(), range(len(tasks)), strict=True))
        self._remaining = tasks.copies.astype(np.int64)
        self._task_loc = tasks.location.tolist()
        self._deadline = tasks.deadline_s.tolist()
        self._publish = tasks.publish_s.tolist()
        self._batch_times = np.unique(tasks.publish_s).tolist()
        # Users' state (per user code) and the platform's records.
        self._load = np.zeros(self.n_users, dtype=np.int32)
        statics = day_statics(day)
        self._reports = Reports(day, statics, knowledge.last_locations())
        self._held: set[tuple[int, int]] = set()
        self._pairs: dict[str, list[Any]] = {k: [] for k in _PAIR_DTYPES}
        self._sensed: list[float] = []  # [s] sensing time per pair, NaN until sensed
        self._n_sensed = 0
        self._decisions: list[dict[str, Any]] = []
        self._events: list[tuple[float, int, int, int, int, float]] = []
        self._visit_loc = statics.location
        self._visit_arr = statics.arrival
        self._visit_dep = statics.departure
        self._offsets = statics.offsets
        if readings is None and sensor is not None:
            readings = day_readings(sensor, sensor_seed, self.options)
        elif readings is not None and readings.seed != sensor_seed:
            raise ValueError(
                f"the shared readings are seeded {readings.seed}, the world {sensor_seed}"
            )
        self._buffer = readings
        self._lane = 0 if readings is None else readings.open_lane()
        self._conduct = self._check_conduct(conduct)
        self._validator = validator
        if validator is not None:
            if readings is None:
                raise ValueError("a validator needs the phones' readings: give a sensor")
            check_validator(validator, self.options.reading_steps)
        self._forgery_seed = sensor_seed
        self._context = tasks.context
        self._forged: list[Reading] = []  # noise and replay claims: no phone makes them
        self._fabricated: set[int] = set()  # pairs claimed with a fabricated window
        self._inbox: Inbox | None = None
        self._decision: Decision | None = None
        self._finished = False
        self._ask = self.env.event()
        self._answered = self.env.event()
        self.env.process(self._platform())

    # ------------------------------------------------------------------ processes

    def _platform(self) -> Generator[simpy.Event, Any, None]:
        """Publish tasks at their times and pause the clock at every decision point."""
        env, reports = self.env, self._reports
        publish = np.asarray(self._publish)
        decided_at, before = -1.0, 0  # clock of the last decision; decisions taken at it
        for t in self._batch_times:
            yield urgent_timeout(env, t - env.now)
            for pos in np.flatnonzero(publish == t).tolist():
                self._log(
                    t,
                    _PUBLISH,
                    -1,
                    int(self._pool.id[pos]),
                    self._task_loc[pos],
                    float(self._pool.copies[pos]),
                )
            batch = self._open_tasks(t)
            if len(batch) == 0:
                continue
            before = before + 1 if env.now == decided_at else 0
            decided_at = env.now
            reports.advance(env.now, 2 * before)  # what the decision's state holds
            self._decision = Decision(len(self._decisions), t, batch, self._state(t))
            reports.advance(env.now, 2 * before + 1)  # and first arrivals at this instant
            env.schedule(succeeded(self._ask, self._decision), EventPriority(NORMAL + 2 * before))
            yield self._answered
        self._ask.succeed(None)

    # ------------------------------------------------------------------ stepping API

    def run_until_decision(self) -> Decision | None:
        """Advance the clock to the next decision point and return it (None: day over).

        Calling it again before :meth:`apply` returns the same pending decision.
        """
        if self._decision is not None:
            return self._decision
        if self._finished:
            return None
        self.env.run(until=self._ask)
        if self._decision is None:
            self.env.run()  # the remaining sensing and claim events
            self._finished = True
        return self._decision

    def apply(self, assignment: Assignment) -> None:
        """Answer the pending decision: record the pairs, schedule their sensing.

        Raises:
            RuntimeError: no decision is pending.
            ConstraintViolation: the assignment breaks the problem's constraints.
        """
        decision = self._decision
        if decision is None:
            raise RuntimeError("no decision is pending; call run_until_decision() first")
        check_assignment(assignment, decision.tasks, decision.state)
        now = decision.time_s
        for u, task, coverage in zip(
            assignment.user.tolist(),
            assignment.task.tolist(),
            assignment.coverage.tolist(),
            strict=True,
        ):
            pos = self._position[task]
            loc = self._task_loc[pos]
            pair = len(self._sensed)
            for key, value in (
                ("decision", decision.index),
                ("assigned_s", now),
                ("user", u),
                ("task", task),
                ("location", loc),
                ("coverage", coverage),
            ):
                self._pairs[key].append(value)
            self._sensed.append(np.nan)
            self._remaining[pos] -= 1
            self._load[u] += 1
            self._held.add((u, task))
            self._log(now, _ALLOCATE, u, task, loc, coverage)
            i = int(self._reports.current[u])
            if (
                i >= 0
                and self._visit_loc[i] == loc
                and self._visit_dep[i] >= now
                and now <= self._deadline[pos]
            ):
                self._sense(pair, now, i)  # already there: senses at the decision
            elif not self._schedule_sensing(pair, u, loc, i, self._deadline[pos]) and (
                self._conduct is not None and self._conduct[u] != HONEST
            ):  # a dishonest user claims what it will not sense
                self._schedule_claim(pair, min(self._deadline[pos], self.day.length_s))
        self._decisions.append(
            {
                "decision": decision.index,
                "time_s": now,
                "tasks": len(decision.tasks),
                "copies": decision.tasks.total_copies,
                "assigned": len(assignment),
                "iterations": assignment.iterations,
                "seconds": assignment.seconds,
                "unassigned": int(sum(assignment.unassigned.values())),
            }
        )
        self._decision = None
        answered, self._ask, self._answered = self._answered, self.env.event(), self.env.event()
        answered.succeed()

    @property
    def tasks(self) -> TaskBatch:
        """The day's whole task pool (published over the day)."""
        return self._pool

    @property
    def finished(self) -> bool:
        """True once the day is over (``run_until_decision`` returned None)."""
        return self._finished

    def will_receive(self, user: int, location: int, start_s: float, end_s: float) -> bool:
        """Whether a copy at ``location`` assigned to ``user`` with the sensing window
        [start_s, end_s] [s] will reach the platform: ``user`` senses it
        (:meth:`~mcsim.sim.DayPlan.senses`, the sensing rule) or, dishonest, claims it. Hidden
        state (the day plan), e.g. to credit an RL agent's assignment at its step."""
        if self._conduct is not None and self._conduct[user] != HONEST:
            return True
        return self.day.senses(user, location, start_s, end_s)

    @property
    def completed(self) -> int:
        """Copies sensed so far: what the platform knows of the day's outcome now (each
        reading reaches it when taken); the Gymnasium env's completion reward counts it."""
        return self._n_sensed

    # ------------------------------------------------------------------ internals

    def _state(self, now: float) -> PlatformState:
        k = self.knowledge
        return PlatformState(
            patterns=k.patterns,
            location_model=k.location_model,
            locations=k.locations,
            g=self.options.g,
            load=self._load.copy(),
            last_location=self._reports.last_location.copy(),
            held=frozenset(self._held),
            now_s=now,
            windows=k.windows,
        )

    def _open_tasks(self, now: float) -> TaskBatch:
        pool = self._pool
        is_open = (self._remaining > 0) & (pool.deadline_s >= now)
        is_open &= (pool.publish_s <= now) if self.options.carry_over else (pool.publish_s == now)
        return pool.select(is_open).with_copies(self._remaining[is_open])

    def _schedule_sensing(self, pair: int, u: int, loc: int, current: int, deadline: float) -> bool:
        """Schedule the sensing of a copy u could not sense at the decision; False: never.

        u senses on its next arrival at the copy's location (its first visit there after
        ``current``, its latest reported one) if that arrival is not past the deadline; the
        window opened at the assignment, which came before it. Otherwise the copy is never
        sensed, and no event is scheduled.
        """
        first = max(current + 1, self._offsets[u])
        try:
            visit = self._visit_loc.index(loc, first, self._offsets[u + 1])
        except ValueError:
            return False  # never there again today
        at = float(self._reports.clock[visit])
        if at > deadline:
            return False
        event = succeeded(simpy.Event(self.env))
        event.callbacks.append(partial(self._sensing, pair, visit))
        self.env.schedule_at(event, at, NORMAL + int(self._reports.rank[visit]))
        return True

    def _schedule_claim(self, pair: int, at: float) -> None:
        """A dishonest user will claim a copy it does not sense, at ``at`` (its deadline)."""
        event = succeeded(simpy.Event(self.env))
        event.callbacks.append(partial(self._claim, pair))
        self.env.schedule_at(event, at, NORMAL)

    def _claim(self, pair: int, _: simpy.Event) -> None:
        """A fabricated claim reaches the platform: to it, a completed copy like any other."""
        now = self.env.now
        u = self._pairs["user"][pair]
        kind = int(self._conduct[u]) if self._conduct is not None else HONEST
        self._complete(pair, now)
        self._fabricated.add(pair)
        task = self._pairs["task"][pair]
        if kind == RESTING and self._buffer is not None:
            # the phone on a desk
            self._buffer.request(Reading(pair, u, now, HAPT_LAYING, task), self._lane)
        elif self._buffer is not None:
            self._forged.append(Reading(pair, u, now, NO_ACTIVITY, task))

    def _sensing(self, pair: int, visit: int, _: simpy.Event) -> None:
        """A sensing event fires: the copy's user has arrived at its location."""
        self._sense(pair, self.env.now, visit)

    def _sense(self, pair: int, now: float, visit: int) -> None:
        """The copy's user senses it, on ``visit``: the phone is walking or still as the
        task's context (or, for ``any``, the visit's dwell) says."""
        self._complete(pair, now)
        if self._buffer is not None:
            u, task = self._pairs["user"][pair], self._pairs["task"][pair]
            dwell = self._visit_dep[visit] - self._visit_arr[visit]
            context = int(self._context[self._position[task]])
            activity = activity_for_context(context, dwell, self.options.walking_dwell_s)
            self._buffer.request(Reading(pair, u, now, activity, task), self._lane)

    def _complete(self, pair: int, now: float) -> None:
        """A reading for the copy reaches the platform at ``now``."""
        self._sensed[pair] = now
        self._n_sensed += 1
        u, task = self._pairs["user"][pair], self._pairs["task"][pair]
        delay = now - self._pairs["assigned_s"][pair]
        self._log(
            now + self.options.reading_s, _COMPLETE, u, task, self._pairs["location"][pair], delay
        )

    def _check_conduct(self, conduct: np.ndarray | None) -> np.ndarray | None:
        if conduct is None or not np.any(conduct):
            return None
        arr = np.asarray(conduct, dtype=np.int8)
        if arr.shape != (self.n_users,):
            raise ValueError(f"conduct has shape {arr.shape}; expected ({self.n_users},)")
        return arr

    def _received(self) -> Inbox | None:
        """The day's inbox, built when first read (None: no sensor); the day must be over.

        Why not at the end of the day: worlds sharing a buffer have their readings generated
        together when the first of them is read, after all have run."""
        if self._inbox is None and self._buffer is not None:
            self._inbox = self._receive(self._buffer)
        return self._inbox

    def _receive(self, buffer: ReadingBuffer) -> Inbox:
        """The day's inbox: the phones' windows and the forgeries, judged."""
        readings = buffer.readings(self._lane) + self._forged
        conduct = self._conduct
        kinds = [
            HONEST if conduct is None or r.pair not in self._fabricated else int(conduct[r.user])
            for r in readings
        ]
        positions = np.array([self._position[t] for t in self._pairs["task"]], dtype=np.int64)
        return receive(
            readings,
            kinds,
            buffer.windows(self._lane),
            self.options.reading_steps,
            np.random.default_rng(np.random.SeedSequence(self._forgery_seed, spawn_key=(1,))),
            contexts=self._context[positions],
            validator=self._validator,
            min_p_real=self.options.min_p_real,
        )

    def _log(
        self, time_s: float, kind: int, user: int, task: int, location: int, value: float
    ) -> None:
        self._events.append((time_s, kind, user, task, location, value))

    # ------------------------------------------------------------------ results

    def result(self, *, events: bool = True) -> SimResult:
        """The day's records; the day must be over (run_until_decision returned None).

        Args:
            events: build the event log (``events=False`` leaves it empty: the metrics do not
                need it, and it is most of the cost of a result, e.g. for an RL episode).
        """
        if not self._finished:
            raise RuntimeError("the day is not over; step until run_until_decision() is None")
        inbox = self._received()
        pairs = pd.DataFrame(self._pair_columns())
        decisions = pd.DataFrame(
            self._decisions,
            columns=[
                "decision",
                "time_s",
                "tasks",
                "copies",
                "assigned",
                "iterations",
                "seconds",
                "unassigned",
            ],
        )
        readings, reading_pair = self._reading_records()
        return SimResult(
            pairs=pairs,
            decisions=decisions,
            events=self._event_frame(readings, reading_pair) if events else _NO_EVENTS,
            readings=readings,
            reading_pair=reading_pair,
            unassigned=int(self._remaining.sum()),
            active=np.diff(self.day.offsets) > 0,
            visits=len(self.day),  # the day is over: every visit of the plan has happened
            sensor_calls=0 if self._buffer is None else self._buffer.calls,
            published=int(self.tasks.copies.sum()),
            reading_checks=None if inbox is None else _checks(inbox),
        )

    def record(self) -> DayRecord:
        """What the day's metrics read (:class:`~mcsim.platform.metrics.DayRecord`), as
        :meth:`result` holds it but without its data frames, which cost more than the metrics
        (the Gym env's end of every episode); the day must be over."""
        if not self._finished:
            raise RuntimeError("the day is not over; step until run_until_decision() is None")
        pairs = self._pair_columns()
        readings, _ = self._reading_records()
        return DayRecord(
            user=pairs["user"],
            location=pairs["location"],
            coverage=pairs["coverage"],
            completed=pairs["completed"],
            received=pairs["received"],
            fabricated=pairs["fabricated"],
            accepted=pairs["accepted"],
            active=np.diff(self.day.offsets) > 0,
            published=int(self.tasks.copies.sum()),
            unassigned=int(self._remaining.sum()),
            iterations=sum(d["iterations"] for d in self._decisions),
            alloc_seconds=float(np.sum([d["seconds"] for d in self._decisions])),
            readings=len(readings),
            reading_steps=readings.shape[1],
        )

    def _pair_columns(self) -> dict[str, np.ndarray]:
        """The columns of :attr:`SimResult.pairs`, typed (a frame made of typed arrays at once
        costs 6x less than one cast and extended afterwards)."""
        sensed = np.asarray(self._sensed, dtype=np.float64)
        received = ~np.isnan(sensed)
        fabricated = np.zeros(len(sensed), dtype=bool)
        fabricated[list(self._fabricated)] = True
        accepted = received.copy()
        inbox = self._received()
        if inbox is not None:
            accepted[inbox.pair[inbox.verdict != ACCEPTED]] = False
        return {
            **{
                key: np.asarray(self._pairs[key], dtype=dtype)
                for key, dtype in _PAIR_DTYPES.items()
            },
            "completed": accepted if self.options.count == "accepted" else received,
            "sensed_s": sensed,
            "received": received,
            "fabricated": fabricated,
            "accepted": accepted,
        }

    def _reading_records(self) -> tuple[np.ndarray, np.ndarray]:
        inbox = self._received()
        if inbox is None:
            return np.zeros((0, self.options.reading_steps, 3), np.float32), np.zeros(0, np.int64)
        return inbox.windows, inbox.pair

    def _event_frame(self, readings: np.ndarray, reading_pair: np.ndarray) -> pd.DataFrame:
        logged = pd.DataFrame(
            self._events, columns=["time_s", "kind", "user", "task", "location", "value"]
        )
        day = self.day
        visits = pd.DataFrame(
            {
                "time_s": day.arrival,
                "kind": _VISIT,
                "user": day.user_of_visit(),
                "task": -1,
                "location": day.location,
                "value": day.departure - day.arrival,
            }
        )
        pairs = self._pairs
        rms = (
            np.sqrt((readings.astype(np.float64) ** 2).sum(axis=2).mean(axis=1))
            if len(readings)
            else np.zeros(0)
        )
        read = pd.DataFrame(
            {
                "time_s": np.asarray(self._sensed, dtype=np.float64)[reading_pair],
                "kind": _READING,
                "user": np.asarray(pairs["user"], dtype=np.int64)[reading_pair],
                "task": np.asarray(pairs["task"], dtype=np.int64)[reading_pair],
                "location": np.asarray(pairs["location"], dtype=np.int64)[reading_pair],
                "value": rms,
            }
        )
        parts = [p for p in (logged, visits, read) if len(p)]
        if not parts:
            parts = [logged]
        events = pd.concat(parts, ignore_index=True)
        events = events.astype(
            {
                "time_s": np.float64,
                "kind": np.int8,
                "user": np.int32,
                "task": np.int64,
                "location": np.int32,
                "value": np.float64,
            }
        )
        events = events.sort_values(["time_s", "kind", "user", "task"], kind="stable")
        events["kind"] = pd.Categorical.from_codes(
            events["kind"].to_numpy(), categories=pd.Index(EVENT_KINDS)
        )
        return events.reset_index(drop=True)


def _checks(inbox: Inbox) -> pd.DataFrame:
    """The per-reading record of :attr:`SimResult.reading_checks`."""
    return pd.DataFrame(
        {
            "activity": inbox.activity,
            "context": inbox.context,
            "conduct": inbox.conduct,
            "verdict": inbox.verdict,
            "p_real": inbox.p_real,
            "judged_activity": inbox.judged_activity,
        }
    )


def day_readings(sensor: SensorGenerator, seed: int, options: WorldOptions) -> ReadingBuffer:
    """The reading buffer of a day's phones (one world's, or shared by several worlds)."""
    return ReadingBuffer(
        sensor, options.reading_steps, seed, conditioned=options.condition_on_activity
    )


def run_day(world: World, policy: DecisionMaker) -> None:
    """The closed loop: answer every decision of ``world`` with ``policy`` until the day ends."""
    while (decision := world.run_until_decision()) is not None:
        world.apply(policy.allocate(decision.tasks, decision.state))


def simulate(world: World, policy: DecisionMaker) -> SimResult:
    """:func:`run_day`, then the day's result."""
    run_day(world, policy)
    return world.result()
