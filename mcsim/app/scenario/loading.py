"""Scenario files, loading: overrides, sweep variants, and errors that name file, line and key.

:func:`load_scenario` reads a file (:mod:`.safe_yaml`), applies command-line style overrides
(dotted key paths), validates it against the schema (:mod:`.schema`) and expands its
``sweep:`` section into *variants*: each sweep key is a dotted key path, each value a list of
settings for it (a mapping is merged into the mapping at that path); the variants are the
Cartesian product in file order, each validated as a full scenario. Relative paths resolve
against the scenario file's folder. Any problem raises a
:class:`~mcsim.errors.ScenarioError` naming the file, the line, the key path
(``tasks.copies``) and what was expected.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from mcsim.app.scenario.safe_yaml import key_path, read_yaml
from mcsim.app.scenario.schema import SUBKEY_MARK, Scenario, ScenarioFile, Variant
from mcsim.errors import ScenarioError

OVERRIDE_LINE = -1  # the "line" of a value given as an override (it is in no file)
MAX_VARIANTS = 10_000  # sweep variants of one scenario file (each is validated)


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
        if message.startswith(SUBKEY_MARK):
            sub, message = message[1:].split(SUBKEY_MARK, 1)
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
    """Every problem of a validation error, each with its key and line; the first (most
    useful) one is the error's message, the others are in its ``others``.

    ``swept``: the sweep's key paths; a problem under one of them points at its sweep line.
    """
    errors = exc.errors()
    # A misspelt key also makes its correct spelling "missing": report the typo first.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    problems = [_problem(error, source, lines, prefix, swept) for error in errors]
    first = problems[0]
    if len(problems) > 1:
        more = f" (and {len(problems) - 1} more problem(s); `mcsim validate` lists them)"
        first = ScenarioError(first.reason + more, path=source, row=first.row, column=first.column)
    first.others = tuple(problems[1:])
    return first


def _problem(
    error: Any,
    source: str,
    lines: dict[tuple[Any, ...], int],
    prefix: str,
    swept: tuple[str, ...],
) -> ScenarioError:
    loc, reason = _describe(error)
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
    if line == OVERRIDE_LINE:
        line, reason = None, f"{reason} (given as an override)"
    return ScenarioError(f"{prefix}{reason}", path=source, row=line, column=dotted or "<top level>")


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
            ``"sweep"`` replaces the whole sweep; ``"sweep.KEY"`` (a list) sweeps one key,
            replacing only the file's values of that key.

    Raises:
        ScenarioError: naming the file, the line, the key path and what was expected.
    """
    path = Path(path)
    source = str(path)
    raw, lines = read_yaml(path)
    # Top-level "x-..." keys hold YAML anchors to merge elsewhere ("<<: *x-defaults"); they
    # are not settings (the docker-compose convention), so they are dropped here.
    raw = {k: v for k, v in raw.items() if not (isinstance(k, str) and k.startswith("x-"))}
    for key, value in (overrides or {}).items():
        if key.startswith("sweep."):  # one swept key (its values replace the file's own)
            sweep = raw.get("sweep")
            raw["sweep"] = {**(sweep if isinstance(sweep, dict) else {}), key[6:]: value}
            continue
        try:
            _set_path(raw, key, value)
        except TypeError as exc:
            raise ScenarioError(
                f"cannot override {key!r}: {exc}", path=source, column=key
            ) from None
    # Values given as overrides have no line in the file: their errors say so instead.
    for key, value in (overrides or {}).items():
        marked: list[tuple[Any, ...]]
        if key.startswith("sweep."):
            marked = [("sweep", key[6:])]
        elif key == "sweep" and isinstance(value, dict):
            marked = [("sweep", swept) for swept in value]
        else:
            marked = [tuple(key.split("."))]
        for parts in marked:
            for known in [k for k in lines if k[: len(parts)] == parts]:
                lines[known] = OVERRIDE_LINE
            lines[parts] = OVERRIDE_LINE
    context = {"base": path.resolve().parent}
    try:
        base = Scenario.model_validate(raw, context=context)
    except ValidationError as exc:
        raise _scenario_error(exc, source, lines) from None
    keys = list(base.sweep)
    n_variants = math.prod(len(values) for values in base.sweep.values())
    if n_variants > MAX_VARIANTS:
        raise ScenarioError(
            f"the sweep makes {n_variants:,} variants; expected at most {MAX_VARIANTS:,} "
            "(split it into several scenarios)",
            path=source,
            row=lines.get(("sweep",)),
            column="sweep",
        )
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


def shipped_scenario(name: str) -> Path:
    """The path of a scenario shipped with the package (``campus``, ``paper_table3``, ...).

    Shipped scenarios are package data (read through :mod:`importlib.resources`), so they are
    there in a wheel as in the source tree, where ``scenarios/`` holds the same files.

    Raises:
        ScenarioError: no shipped scenario of that name (the message lists them).
    """
    folder = resources.files("mcsim") / "scenarios"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(shipped_scenarios())
        raise ScenarioError(f"no shipped scenario {name!r}; expected one of {known}")
    return Path(str(path))


def scenario_path(text: str | Path) -> Path:
    """A scenario argument: an existing file, else the name of a shipped scenario (a missing
    file stays a path, so the loader names it)."""
    path = Path(text)
    if path.exists() or path.suffix in (".yaml", ".yml") or str(text) not in shipped_scenarios():
        return path
    return shipped_scenario(str(text))


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package, sorted."""
    folder = resources.files("mcsim") / "scenarios"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )
