"""Scenario files, the schema: the typed, frozen description of one experiment.

A scenario says where the mobility comes from (a synthetic campus or a trace file), how it is
cut into cycles and mined, which days are simulated, which tasks are published, which policies
allocate them, which sensor model the phones use, and how often to repeat. Every section is a
frozen pydantic model with ``extra="forbid"``, so a typo or a bad value never reaches the
simulator. Reading the file safely is :mod:`.safe_yaml`'s job; turning it into validated
variants (and errors that name file, line and key) is :mod:`.loading`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from generators.sensors import parse_sensor_spec
from mcsim.app.mobility import MOBILITY_SOURCES
from mcsim.errors import MCSimError

SUBKEY_MARK = "\u241f"  # marks a sub-key path inside a validator's message (see _value_error)


def _value_error(key: str, message: str) -> ValueError:
    """A validator error that points at ``key`` below the model being validated."""
    return ValueError(f"{SUBKEY_MARK}{key}{SUBKEY_MARK}{message}")


class _Config(BaseModel):
    """Base of every scenario section: unknown keys rejected, values frozen, types strict.

    Strict: ``g: yes`` is not 1 and ``repetitions: "5"`` is not 5 (YAML already gives numbers
    and booleans their types); an integer is still accepted where a float is expected.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _resolve(path: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base")
    path = Path(path).expanduser()
    return path if path.is_absolute() or base is None else (Path(base) / path).resolve()


def _check_zone(zone: str | None) -> str | None:
    if zone is None:
        return zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {zone!r}; expected an IANA name such as 'UTC' or 'Asia/Shanghai'"
        ) from None
    return zone


class SyntheticTraceConfig(_Config):
    """A synthetic campus (``generators.mobility``): preset, observation days, overrides."""

    preset: str = "wtd"  # wtd (68 users, 124 APs), wtd-extended (168/284), city (100,000 users)
    days: int = Field(30, ge=2, le=3650)  # [days] observation period (train + test cycles)
    params: dict[str, Any] = Field(default_factory=dict)  # CampusConfig fields to override

    @model_validator(mode="after")
    def _known(self) -> SyntheticTraceConfig:
        from generators.mobility import CampusConfig

        if self.preset not in CampusConfig.PRESETS:
            raise _value_error(
                "preset",
                f"unknown preset {self.preset!r}; expected one of "
                f"{', '.join(CampusConfig.PRESETS)}",
            )
        for key, value in self.params.items():
            problem = CampusConfig.field_problem(key, value)
            if problem:
                raise _value_error(f"params.{key}", problem)
        try:
            self.campus_config()
        except (TypeError, ValueError) as exc:
            raise _value_error("params", f"{exc}") from None
        return self

    def campus_config(self) -> Any:
        """The generator's CampusConfig (typed Any: generators is imported lazily)."""
        from generators.mobility import CampusConfig

        return CampusConfig.preset(self.preset, **{**self.params, "n_days": self.days})


class FileTraceConfig(_Config):
    """A trace file or folder read with :func:`mcsim.data.traces.load_trace`."""

    path: Annotated[Path, Field(strict=False)]  # CSV/Parquet file or GeoLife folder;
    # relative to the scenario's folder
    format: Literal["ap", "gps", "geolife"] | None = None  # None: detected
    timezone: str = "UTC"  # zone of naive times in the file (and default cycle zone)
    grid_m: float = Field(200.0, gt=0)  # [m] grid cell of GPS stay points
    stay_radius_m: float = Field(200.0, gt=0)  # [m] GPS stay points: radius of a stay
    stay_min_s: float = Field(1200.0, gt=0)  # [s] GPS stay points: shortest stay kept

    @field_validator("path")
    @classmethod
    def _exists(cls, path: Path, info: ValidationInfo) -> Path:
        path = _resolve(path, info)
        if not path.exists():
            raise ValueError(
                f"no such file or folder {str(path)!r}; expected a trace "
                "(CSV/Parquet file or GeoLife folder)"
            )
        return path

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value) or value


class TraceConfig(_Config):
    """Where the mobility trace comes from: exactly one of ``synthetic`` and ``file``."""

    synthetic: SyntheticTraceConfig | None = None
    file: FileTraceConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> TraceConfig:
        if (self.synthetic is None) == (self.file is None):
            raise ValueError("expected exactly one of 'synthetic' and 'file'")
        return self


class CycleConfig(_Config):
    """How the trace is cut into cycles (see :class:`mcsim.mining.cycles.CycleOptions`)."""

    length_h: float = Field(24.0, gt=0, le=24 * 7)  # [h] cycle length C_len
    origin_hour: float = Field(4.0, ge=0, lt=24)  # [h] local hour a cycle starts
    timezone: str | None = None  # IANA zone of that hour; None: the trace's zone
    min_dwell_s: float = Field(0.0, ge=0)  # [s] shorter visits are dropped

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return _check_zone(value)


class MiningConfig(_Config):
    """Pattern mining parameters (paper: minsup 0.5)."""

    minsup: float = Field(0.5, gt=0, le=1)
    max_length: int | None = Field(None, ge=1)  # longest pattern; None: unbounded


class SplitConfig(_Config):
    """Train/test split by calendar cycle, the same for every user: exactly one field."""

    train_cycles: int | None = Field(None, ge=1)  # calendar cycles from the first to train on
    train_fraction: float | None = Field(None, gt=0, lt=1)  # share of the calendar span
    test_from: Annotated[date | None, Field(strict=False)] = None  # cycles starting on or after
    # this local date are tested (a YAML date or an ISO string)

    @model_validator(mode="after")
    def _one(self) -> SplitConfig:
        given = [self.train_cycles, self.train_fraction, self.test_from]
        if sum(x is not None for x in given) != 1:
            raise ValueError(
                "expected exactly one of 'train_cycles', 'train_fraction' and 'test_from'"
            )
        return self


class MobilityConfig(_Config):
    """Where simulated days come from (see :mod:`mcsim.sim.sources` for the biases)."""

    source: str = "replay"  # a registered source (mcsim.app.mobility): replay, patterns, ...
    users: int | None = Field(None, ge=1, le=1_000_000)  # patterns only: a virtual population
    # of this size copied round robin from the trace's users (history and days from the model)

    @field_validator("source")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in MOBILITY_SOURCES:
            known = ", ".join(repr(k) for k in MOBILITY_SOURCES)
            raise ValueError(f"unknown mobility source {value!r}; expected one of {known}")
        return value

    @model_validator(mode="after")
    def _users_need_patterns(self) -> MobilityConfig:
        if self.users is not None and self.source != "patterns":
            raise _value_error(
                "users",
                "a virtual population needs source 'patterns' (the model that generates its days)",
            )
        return self


class PublishConfig(_Config):
    """When tasks are published: ``batches`` batch times evenly over [start_h, end_h]."""

    start_h: float = Field(0.0, ge=0)  # [h from cycle start] first batch
    end_h: float | None = Field(None, ge=0)  # [h from cycle start] last batch; None: start_h
    batches: int = Field(1, ge=1, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> PublishConfig:
        if self.end_h is not None and self.end_h < self.start_h:
            raise _value_error(
                "end_h", f"expected end_h >= start_h ({self.start_h}), got {self.end_h}"
            )
        if self.end_h is None and self.batches > 1:
            raise _value_error("end_h", "several batches need end_h (the last batch time)")
        return self


ContextName = Literal["any", "walking", "still"]  # mcsim.platform.validation.CONTEXTS
FabricationKind = Literal["noise", "resting", "replay"]  # mcsim.sim.receiving kinds


def _some_share(shares: dict[str, float], what: str) -> dict[str, float]:
    """``shares`` (name -> share of a draw), refused when nothing could be drawn."""
    if not shares or sum(shares.values()) <= 0:
        raise ValueError(f"expected at least one {what} with a positive share")
    return shares


def _every_context() -> dict[ContextName, float]:
    return {"any": 1.0}


def _every_kind() -> dict[FabricationKind, float]:
    return {"noise": 1.0, "resting": 1.0, "replay": 1.0}


class TaskConfig(_Config):
    """The task pool (paper notation "20-44": ``count: 20, copies: 44``)."""

    count: int = Field(ge=1, le=10_000_000)  # number of tasks m
    copies: int = Field(ge=1, le=100_000_000)  # measurements needed in all, sum of c_i
    max_copies: int = Field(3, ge=1, le=1_000)  # cap on any c_i (paper: 3)
    publish: PublishConfig = PublishConfig()
    deadline_h: float | None = Field(None, gt=0)  # [h] after publication; None: end of cycle
    locations: Literal["uniform", "visits", "frequent"] = "uniform"  # where tasks are:
    # uniform over the locations seen in training, in proportion to their training visits,
    # or uniform over the frequent locations (those in some user's mined patterns)
    carry_over: bool = True  # copies left unassigned are offered again at later batches
    # sensing context -> share of tasks needing it (any, walking: gait or road surface,
    # still: noise); drawn per task, after the pool, from the pool's stream
    contexts: dict[ContextName, Annotated[float, Field(ge=0)]] = Field(
        default_factory=_every_context
    )

    @field_validator("contexts")
    @classmethod
    def _some_context(cls, value: dict[str, float]) -> dict[str, float]:
        return _some_share(value, "context")

    @model_validator(mode="after")
    def _feasible(self) -> TaskConfig:
        if not self.count <= self.copies <= self.count * self.max_copies:
            raise _value_error(
                "copies",
                f"expected between count ({self.count}) and count x "
                f"max_copies ({self.count * self.max_copies}), got {self.copies}",
            )
        return self


class DishonestConfig(_Config):
    """Users who claim copies without being there (see :mod:`mcsim.sim.receiving`)."""

    share: float = Field(0.0, ge=0, le=1)  # share of the users (the same users every day)
    # fabrication kind -> share of the dishonest users using it
    kinds: dict[FabricationKind, Annotated[float, Field(ge=0)]] = Field(default_factory=_every_kind)

    @field_validator("kinds")
    @classmethod
    def _some_kind(cls, value: dict[str, float]) -> dict[str, float]:
        return _some_share(value, "kind")


class ValidationConfig(_Config):
    """The platform's check of the readings it receives (:mod:`mcsim.platform.validation`)."""

    validator: str = "none"  # "hapt" (the shipped HAPT-trained checkpoint), a .pt path, "none"
    min_p_real: float = Field(0.5, ge=0, le=1)  # realism score below which a reading is fake
    # what completion, fulfilment and the Gym reward count: every reading received (claims
    # included), or only the accepted ones
    count: Literal["received", "accepted"] = "received"

    @field_validator("validator")
    @classmethod
    def _validator(cls, value: str, info: ValidationInfo) -> str:
        if value.strip().lower() == "none":
            return "none"
        from generators.validators import parse_validator_spec

        base = (info.context or {}).get("base")
        try:
            return str(parse_validator_spec(value, None if base is None else Path(base)))
        except MCSimError as exc:
            raise ValueError(str(exc)) from None


class PolicyConfig(_Config):
    """One policy: a built-in name (MDP, IU1, ...) or ``module:Class``, with parameters."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None  # name in tables and plots; default the name

    @property
    def display(self) -> str:
        return self.label or self.name

    @model_validator(mode="after")
    def _buildable(self) -> PolicyConfig:
        from policies import make_policy

        try:
            make_policy(self.name, **self.params)
        except (MCSimError, TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return self


class Scenario(_Config):
    """One experiment (or, with ``sweep``, a grid of them). See the README's scenario reference."""

    name: str = "scenario"
    description: str = ""
    seed: int = Field(ge=0, le=2**63 - 1)  # the one seed every component's RNG derives from
    # simulate: every policy runs a simulated day (SimPy); allocate: every policy allocates
    # each task pool once at the start, scored on all held-out days (the paper's Figs. 5-8)
    mode: Literal["simulate", "allocate"] = "simulate"
    trace: TraceConfig
    cycles: CycleConfig = CycleConfig()
    mining: MiningConfig = MiningConfig()
    split: SplitConfig = SplitConfig(train_fraction=0.75)
    mobility: MobilityConfig = MobilityConfig()
    tasks: TaskConfig
    g: int = Field(6, ge=1, le=10_000)  # at most g tasks per user
    policies: list[PolicyConfig] = Field(min_length=1)
    sensor: str = "none"  # a registered name (generators.sensors.SENSORS), a .pt path, or "none"
    reading_s: float = Field(2.56, gt=0, le=600)  # [s] reading window (50 Hz samples)
    walking_dwell_s: float = Field(120.0, ge=0)  # [s] readings on shorter visits: walking
    sensor_activity: bool = True  # condition readings on walking/standing (False: paper)
    dishonest: DishonestConfig = DishonestConfig()
    validation: ValidationConfig = ValidationConfig()
    repetitions: int = Field(1, ge=1, le=100_000)  # simulated days per variant
    workers: int = Field(1, ge=1, le=1024)  # processes for repetitions (results identical)
    output: Annotated[Path | None, Field(strict=False)] = None  # default results folder;
    # relative to the scenario's folder; None: runs/<name> in the working folder
    log_visits: bool = True  # write visit events to events.parquet (millions at scale)
    # write the windows the platform received (readings.npy, readings.parquet; simulate mode):
    # about 1.5 KB per completed copy, so off for huge runs
    save_readings: bool = True
    sweep: dict[str, list[Any]] = Field(default_factory=dict)  # key path -> values

    @field_validator("policies", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("sensor")
    @classmethod
    def _sensor(cls, value: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base")
        try:
            return str(parse_sensor_spec(value, None if base is None else Path(base)))
        except MCSimError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("output")
    @classmethod
    def _output(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @field_validator("sweep")
    @classmethod
    def _sweep(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if key in ("sweep", "seed") or key.startswith("sweep."):
                raise _value_error(
                    key,
                    f"{key!r} cannot be swept (repetitions vary the days; "
                    "run another scenario for another seed)",
                )
            if not values:
                raise _value_error(key, "expected a non-empty list of values")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        labels = [p.display for p in self.policies]
        duplicated = sorted({x for x in labels if labels.count(x) > 1})
        if duplicated:
            raise _value_error(
                "policies", f"policy {duplicated[0]!r} appears twice; give each a distinct 'label'"
            )
        length_h = self.cycles.length_h
        publish = self.tasks.publish
        if max(publish.start_h, publish.end_h or 0.0) > length_h:
            raise _value_error(
                "tasks.publish", f"publish times must lie within the cycle (0..{length_h:g} h)"
            )
        if self.validation.validator != "none" and self.mode != "simulate":
            raise _value_error(
                "validation.validator",
                "readings are checked in simulated days; expected mode 'simulate' or "
                "validator 'none'",
            )
        if self.validation.count == "accepted" and self.validation.validator == "none":
            raise _value_error(
                "validation.count",
                "counting accepted copies needs a validator; expected validation.validator "
                "'hapt' or a .pt path",
            )
        if self.mobility.source == "ground_truth" and self.trace.synthetic is None:
            raise _value_error(
                "mobility.source",
                "'ground_truth' needs a synthetic trace "
                "(a file has no generator to draw new days from); expected "
                "'replay' or 'patterns'",
            )
        return self

    def cycle_timezone(self) -> str:
        """The zone of the cycle origin: explicit, else the trace file's, else the campus's."""
        if self.cycles.timezone is not None:
            return self.cycles.timezone
        if self.trace.file is not None:
            return self.trace.file.timezone
        assert self.trace.synthetic is not None
        return str(self.trace.synthetic.campus_config().timezone)


@dataclass(frozen=True)
class Variant:
    """One point of a scenario's sweep grid (the only one when there is no sweep).

    Attributes:
        index: position in the grid (file order, last key fastest).
        settings: the swept values, flattened to key paths (``tasks.count``: 20).
        scenario: the complete scenario of this variant (``sweep`` empty).
    """

    index: int
    settings: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class ScenarioFile:
    """A loaded scenario file: the scenario as written (resolved) and its variants."""

    path: Path
    scenario: Scenario
    variants: tuple[Variant, ...]
