"""Policy registry: names, ``"package.module:Class"`` paths and installed plug-ins.

A scenario or a command line names a policy by a string, so every way to reach one goes
through :func:`make_policy`:

* a built-in name (case-insensitive): MLP, MDP, IU1, IU2, IGA, BGA, NA (the paper's), TW
  (time-window aware, beyond the paper);
* a name given to :func:`register_policy` in this process (a class or a lazy path);
* a ``"package.module:Class"`` path to any :class:`~policies.base.AllocationPolicy` subclass;
* a name in the ``mcsim.policies`` entry-point group of an installed distribution, e.g. in its
  pyproject: ``[project.entry-points."mcsim.policies"] greedy2 = "mypkg.policies:Greedy2"``.

Targets are stored as paths and imported on first use (as Gymnasium's registry does), so
listing policies imports nothing. Every failure is a :class:`~mcsim.errors.PolicyError` that
names the policy and, for parameters, the parameter.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from importlib import metadata

from mcsim.errors import MCSimError, PolicyError
from policies.base import AllocationPolicy, describe

#: Entry-point group through which installed packages contribute policies.
ENTRY_POINT_GROUP = "mcsim.policies"

_BUILTIN: dict[str, str] = {
    "MLP": "policies.pattern:MLP",
    "MDP": "policies.pattern:MDP",
    "IU1": "policies.pattern:IU1",
    "IU2": "policies.pattern:IU2",
    "IGA": "policies.probabilistic:IGA",
    "BGA": "policies.probabilistic:BGA",
    "NA": "policies.nearest:NA",
    "TW": "policies.window:TW",
}

# Names registered in this process: display name -> class or "module:Class" path.
_registered: dict[str, type[AllocationPolicy] | str] = {}


def register_policy(
    name: str, target: type[AllocationPolicy] | str, *, overwrite: bool = False
) -> None:
    """Make ``target`` available to :func:`make_policy` under ``name`` (case-insensitive).

    Args:
        name: the policy's name; must not contain ``":"``.
        target: an :class:`AllocationPolicy` subclass or a ``"package.module:Class"`` path
            (imported when the policy is first made).
        overwrite: replace an existing registration or shadow a built-in of that name.

    Raises:
        PolicyError: a bad name or target, or the name is taken and ``overwrite`` is false.
    """
    if not name or ":" in name:
        raise PolicyError(f"policy name {name!r} must be non-empty and contain no ':'")
    if isinstance(target, str):
        _split_path(target)
    elif not (isinstance(target, type) and issubclass(target, AllocationPolicy)):
        raise PolicyError(f"policy {name}: {target!r} is not an AllocationPolicy subclass")
    taken = _lookup_name(name, include_entry_points=False)
    if taken is not None and not overwrite:
        raise PolicyError(
            f"policy {name}: the name is already taken by {taken[0]} "
            "(pass overwrite=True to replace it)"
        )
    for existing in [key for key in _registered if key.lower() == name.lower()]:
        del _registered[existing]
    _registered[name] = target


#: The built-in policies in the paper's order (MLP, MDP, IU1, IU2, then IGA, BGA, NA), then
#: TW (beyond the paper): the default order of tables and plots.
BUILTIN_POLICIES: tuple[str, ...] = tuple(_BUILTIN)


def available_policies() -> list[str]:
    """Names :func:`make_policy` accepts: built-ins, registered names, installed plug-ins."""
    names = {name.lower(): name for name in _entry_points()}
    names.update({name.lower(): name for name in _BUILTIN})
    names.update({name.lower(): name for name in _registered})
    return sorted(names.values(), key=str.lower)


def make_policy(name: str, **params: object) -> AllocationPolicy:
    """Build a policy from its name or ``"package.module:Class"`` path and keyword parameters.

    Example:
        >>> make_policy("iu1", delta=0.8)
        IU1(delta=0.8)

    Raises:
        PolicyError: unknown name (with the closest known names), a path that does not lead
            to an AllocationPolicy subclass, an unknown parameter or a bad value.
    """
    if not isinstance(name, str):
        raise PolicyError(f"policy must be named by a string, got {name!r}")
    if ":" in name:
        label, cls = name, resolve_path(name)
    else:
        found = _lookup_name(name, include_entry_points=True)
        if found is None:
            raise PolicyError(_unknown_message(name))
        label, target = found
        cls = target if isinstance(target, type) else resolve_path(target, label=label)
    return _instantiate(label, cls, params)


def resolve_path(path: str, *, label: str | None = None) -> type[AllocationPolicy]:
    """The AllocationPolicy subclass at ``"package.module:Class"`` (dots allowed after ':')."""
    label = label or path
    module_name, attribute = _split_path(path)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # ImportError, SyntaxError, or the module's own
        raise PolicyError(
            f"policy {label}: cannot import module {module_name!r} ({describe(exc)})"
        ) from exc
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise PolicyError(
                f"policy {label}: module {module_name!r} has no attribute {attribute!r}"
            )
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, AllocationPolicy)):
        raise PolicyError(f"policy {label}: {path} is not an AllocationPolicy subclass")
    return target


def _split_path(path: str) -> tuple[str, str]:
    module_name, sep, attribute = path.partition(":")
    if not (sep and module_name and attribute):
        raise PolicyError(f"policy path {path!r} must look like 'package.module:Class'")
    return module_name, attribute


def _lookup_name(
    name: str, *, include_entry_points: bool
) -> tuple[str, type[AllocationPolicy] | str] | None:
    """(display name, target) for a case-insensitive name; registered names come first."""
    key = name.lower()
    for table in (_registered, _BUILTIN):
        for known, target in table.items():
            if known.lower() == key:
                return known, target
    if include_entry_points:
        for known, value in _entry_points().items():
            if known.lower() == key:
                return known, value
    return None


def _entry_points() -> dict[str, str]:
    """Installed plug-ins: entry-point name -> "module:Class" path."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _unknown_message(name: str) -> str:
    known = available_policies()
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(by_lower[c] for c in close)}?" if close else ""
    return (
        f"unknown policy {name!r}{hint} (available: {', '.join(known)}; or give a "
        "'package.module:Class' path)"
    )


def _instantiate(
    label: str, cls: type[AllocationPolicy], params: dict[str, object]
) -> AllocationPolicy:
    signature = inspect.signature(cls)
    accepts_any = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
    )
    accepted = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    unknown = [key for key in params if key not in accepted]
    if unknown and not accepts_any:
        what = ", ".join(accepted) if accepted else "none"
        raise PolicyError(
            f"policy {label}: unknown parameter {unknown[0]!r} (accepted parameters: {what})"
        )
    try:
        signature.bind(**params)
    except TypeError as exc:
        raise PolicyError(f"policy {label}: {exc}") from None
    try:
        return cls(**params)
    except MCSimError:
        raise
    except (Exception, SystemExit) as exc:
        raise PolicyError(f"policy {label}: its constructor failed ({describe(exc)})") from exc
