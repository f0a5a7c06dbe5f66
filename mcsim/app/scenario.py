"""Scenario files: the typed, frozen description of one experiment, and its safe YAML loader.

A scenario says where the mobility comes from (a synthetic campus or a trace file), how it is
cut into cycles and mined, which days are simulated, which tasks are published, which policies
allocate them, which sensor model the phones use, and how often to repeat. It is parsed *at the
edge* into frozen pydantic models (``extra="forbid"``), so a typo or a bad value never reaches
the simulator: :func:`load_scenario` raises a :class:`~mcsim.errors.ScenarioError` naming the
file, the line, the key path (``tasks.copies``) and what was expected.

The loader is defensive because scenario files travel between people: safe YAML only (a
``!!python/...`` tag is an error, never executed), duplicate keys rejected, files over
:data:`MAX_BYTES` rejected, and alias expansion bounded (a "billion laughs" file is rejected
before anything is built from it). Relative paths resolve against the scenario file's folder.

A ``sweep:`` section turns one file into a grid of *variants*: each key is a dotted key path,
each value a list of settings for it (a mapping is merged into the mapping at that path); the
variants are the Cartesian product in file order, each validated as a full scenario.
"""

from __future__ import annotations

import copy
import difflib
import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from generators.sensors import parse_sensor_spec
from mcsim.errors import MCSimError, ScenarioError

MAX_BYTES = 1_000_000  # [bytes] largest scenario file accepted
MAX_ALIASES = 100  # alias references (*name) allowed in one file
MAX_NODES = 100_000  # YAML nodes after alias expansion (a billion-laughs guard)
_AT = "\u241f"  # marks a sub-key path inside a validator's message (see _value_error)


def _value_error(key: str, message: str) -> ValueError:
    """A validator error that points at ``key`` below the model being validated."""
    return ValueError(f"{_AT}{key}{_AT}{message}")


class _Config(BaseModel):
    """Base of every scenario section: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    path: Path  # CSV/Parquet file or GeoLife folder; relative to the scenario's folder
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
    test_from: date | None = None  # cycles starting on or after this local date are tested

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

    source: Literal["replay", "patterns", "ground_truth"] = "replay"
    users: int | None = Field(None, ge=1, le=1_000_000)  # patterns only: a virtual population
    # of this size copied round robin from the trace's users (history and days from the model)

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


class TaskConfig(_Config):
    """The task pool (paper notation "20-44": ``count: 20, copies: 44``)."""

    count: int = Field(ge=1, le=10_000_000)  # number of tasks m
    copies: int = Field(ge=1)  # measurements needed in all, sum of c_i
    max_copies: int = Field(3, ge=1)  # cap on any c_i (paper: 3)
    publish: PublishConfig = PublishConfig()
    deadline_h: float | None = Field(None, gt=0)  # [h] after publication; None: end of cycle
    locations: Literal["uniform", "visits", "frequent"] = "uniform"  # where tasks are:
    # uniform over the locations seen in training, in proportion to their training visits,
    # or uniform over the frequent locations (those in some user's mined patterns)
    carry_over: bool = True  # copies left unassigned are offered again at later batches

    @model_validator(mode="after")
    def _feasible(self) -> TaskConfig:
        if not self.count <= self.copies <= self.count * self.max_copies:
            raise _value_error(
                "copies",
                f"expected between count ({self.count}) and count x "
                f"max_copies ({self.count * self.max_copies}), got {self.copies}",
            )
        return self


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
    trace: TraceConfig
    cycles: CycleConfig = CycleConfig()
    mining: MiningConfig = MiningConfig()
    split: SplitConfig = SplitConfig(train_fraction=0.75)
    mobility: MobilityConfig = MobilityConfig()
    tasks: TaskConfig
    g: int = Field(6, ge=1, le=10_000)  # at most g tasks per user
    policies: list[PolicyConfig] = Field(min_length=1)
    sensor: str = "none"  # "sensegen" (shipped checkpoint), a .pt path, or "none"
    reading_s: float = Field(2.56, gt=0, le=600)  # [s] reading window (50 Hz samples)
    walking_dwell_s: float = Field(120.0, ge=0)  # [s] readings on shorter visits: walking
    sensor_activity: bool = True  # condition readings on walking/standing (False: paper)
    repetitions: int = Field(1, ge=1, le=100_000)  # simulated days per variant
    workers: int = Field(1, ge=1, le=1024)  # processes for repetitions (results identical)
    output: Path | None = None  # default results folder; relative to the scenario's folder
    log_visits: bool = True  # write visit events to events.parquet (millions at scale)
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


# ----------------------------------------------------------------------------- YAML loading


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts aliases and rejects duplicate mapping keys."""

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self.source = source
        self.aliases = 0
        self.mapping_paths: dict[int, tuple[Any, ...]] = {}  # id(mapping node) -> key path

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise ScenarioError(
                    f"more than {MAX_ALIASES} alias references (*name); "
                    "expected a plain scenario, not an alias expansion",
                    path=self.source,
                    row=mark.line + 1,
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it below
            if first != key_node.start_mark.line + 1:
                where = (*self.mapping_paths.get(id(node), ()), key)
                raise ScenarioError(
                    f"duplicate key {key!r} (first given on line {first}); expected each key once",
                    path=self.source,
                    row=key_node.start_mark.line + 1,
                    column=key_path(where),
                )
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the tree after alias expansion (shared subtrees counted every time)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts as a leaf rather than looping
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(_expanded_size(v, memo) for v in node.value)
        else:
            size = 1
        memo[key] = min(size, MAX_NODES + 1)
    return memo[key]


def _index(
    node: yaml.Node,
    path: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    mapping_paths: dict[int, tuple[Any, ...]],
) -> None:
    """Record key path -> 1-based line for every mapping key and sequence item, and the key
    path of every mapping node (so errors found while constructing can name it)."""
    if isinstance(node, yaml.MappingNode):
        mapping_paths.setdefault(id(node), path)
        for key, value in node.value:
            child = (*path, key.value if isinstance(key, yaml.ScalarNode) else str(key))
            lines.setdefault(child, key.start_mark.line + 1)
            _index(value, child, lines, mapping_paths)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines.setdefault((*path, i), value.start_mark.line + 1)
            _index(value, (*path, i), lines, mapping_paths)


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Safely read a scenario file: (top-level mapping, key path -> line).

    Raises:
        ScenarioError: missing, oversized, not UTF-8, not YAML, unsafe tags, duplicate keys,
            alias bombs, or a top level that is not a mapping.
    """
    source = str(path)
    if not path.is_file():
        raise ScenarioError("no such file; expected a YAML scenario", path=source)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ScenarioError(f"file is {size:,} bytes; expected at most {MAX_BYTES:,}", path=source)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError("is not UTF-8 text; expected a YAML scenario", path=source) from exc
    loader = _Loader(text, source)
    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(
                "file is empty; expected a YAML mapping of scenario keys", path=source
            )
        if _expanded_size(node, {}) > MAX_NODES:
            raise ScenarioError(
                f"aliases expand to more than {MAX_NODES:,} nodes; expected a "
                "plain scenario (is this a 'billion laughs' file?)",
                path=source,
            )
        _index(node, (), lines, loader.mapping_paths)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = f"{exc.context + ': ' if exc.context else ''}{exc.problem}"
        if "could not determine a constructor" in str(exc.problem):
            problem = (
                f"unsupported tag {exc.problem.split('tag ')[-1]}; expected plain YAML "
                "(tags such as !!python/... are never executed)"
            )
        row = None if mark is None else mark.line + 1
        # The deepest mapping key on that line (known once the file is composed).
        on_row = [k for k, line in lines.items() if line == row and not isinstance(k[-1], int)]
        raise ScenarioError(
            f"invalid YAML: {problem}",
            path=source,
            row=row,
            column=key_path(max(on_row, key=len)) if on_row else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", path=source) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(
            f"top level is a {type(data).__name__}; expected a mapping of "
            "scenario keys (seed, trace, tasks, policies, ...)",
            path=source,
        )
    return data, lines


# ------------------------------------------------------------------------- validation errors


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The scenario section (model class) reached by following ``loc`` from Scenario."""
    model: type[BaseModel] | None = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def key_path(loc: tuple[Any, ...]) -> str:
    """``('policies', 2, 'name')`` -> ``policies[2].name``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error: Any) -> tuple[tuple[Any, ...], str]:
    """(location, reason) of one pydantic error, in the scenario's words."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return loc, (f"unknown key {loc[-1]!r}{hint} (expected one of: {', '.join(known)})")
    if kind == "missing":
        return loc, f"missing required key {loc[-1]!r}"
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        if message.startswith(_AT):
            sub, message = message[1:].split(_AT, 1)
            return (*loc, *sub.split(".")), message
        return loc, message
    message = message.replace("Input should be", "expected", 1)
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return loc, f"{message}; got {shown}"


def _scenario_error(
    exc: ValidationError,
    source: str,
    lines: dict[tuple[Any, ...], int],
    prefix: str = "",
    swept: tuple[str, ...] = (),
) -> ScenarioError:
    """The first (most useful) problem of a validation error, with its line.

    ``swept``: the sweep's key paths; a problem under one of them points at its sweep line.
    """
    errors = exc.errors()
    # A misspelt key also makes its correct spelling "missing": report the typo first.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    loc, reason = _describe(errors[0])
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    dotted = key_path(loc)
    line = next(
        (
            lines.get(("sweep", key))
            for key in swept
            if dotted == key or dotted.startswith(f"{key}.")
        ),
        None,
    )
    for depth in range(len(loc), -1, -1):
        if line is not None:
            break
        line = lines.get(loc[:depth])
    return ScenarioError(
        f"{prefix}{reason}{more}", path=source, row=line, column=key_path(loc) or "<top level>"
    )


# ----------------------------------------------------------------------------------- loading


def _set_path(data: dict[str, Any], dotted: str, value: Any, *, merge: bool = False) -> None:
    """Set ``data[a][b][c] = value`` for ``a.b.c``.

    With ``merge`` (sweep values), a mapping value is merged into the mapping already there;
    without (overrides), it replaces it.
    """
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        if node.get(part) is None:
            node[part] = {}
        if not isinstance(node[part], dict):
            raise TypeError(f"{part!r} is not a mapping")
        node = node[part]
    if merge and isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last] = {**node[last], **copy.deepcopy(value)}
    else:
        node[last] = copy.deepcopy(value)


def _flatten(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for sub, item in value.items():
            out.update(_flatten(f"{key}.{sub}", item))
        return out
    return {key: value}


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> ScenarioFile:
    """Read, check and expand a scenario file.

    Args:
        path: the YAML file.
        overrides: key path -> value applied before validation (e.g. ``{"repetitions": 2}``
            from the command line, or small sizes in tests), validated like the file.

    Raises:
        ScenarioError: naming the file, the line, the key path and what was expected.
    """
    path = Path(path)
    source = str(path)
    raw, lines = read_yaml(path)
    for key, value in (overrides or {}).items():
        try:
            _set_path(raw, key, value)
        except TypeError as exc:
            raise ScenarioError(
                f"cannot override {key!r}: {exc}", path=source, column=key
            ) from None
    context = {"base": path.resolve().parent}
    try:
        base = Scenario.model_validate(raw, context=context)
    except ValidationError as exc:
        raise _scenario_error(exc, source, lines) from None
    keys = list(base.sweep)
    variants = []
    body = {k: v for k, v in raw.items() if k != "sweep"}
    for index, combination in enumerate(itertools.product(*(base.sweep[k] for k in keys))):
        data = copy.deepcopy(body)
        settings: dict[str, Any] = {}
        for key, value in zip(keys, combination, strict=True):
            try:
                _set_path(data, key, value, merge=True)
            except TypeError as exc:
                raise ScenarioError(
                    f"cannot sweep {key!r}: {exc}",
                    path=source,
                    row=lines.get(("sweep", key)),
                    column=f"sweep.{key}",
                ) from None
            settings.update(_flatten(key, value))
        try:
            scenario = Scenario.model_validate(data, context=context)
        except ValidationError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in settings.items())
            raise _scenario_error(
                exc,
                source,
                lines,
                prefix=f"in sweep variant {index} ({shown}): ",
                swept=tuple(keys),
            ) from None
        variants.append(Variant(index, settings, scenario))
    return ScenarioFile(path, base, tuple(variants))


def dump_scenario(scenario: Scenario) -> str:
    """The resolved scenario as YAML (paths absolute, defaults filled in)."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
