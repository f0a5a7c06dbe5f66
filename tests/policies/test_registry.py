"""The registry: built-in names, module:Class paths, entry-point plug-ins and precise errors."""

from __future__ import annotations

import textwrap

import pytest

from mcsim.errors import PolicyError
from policies import (
    AllocationPolicy,
    available_policies,
    make_policy,
    register_policy,
    registry,
)
from policies.pattern import IU1, MLP

BUILTINS = ["BGA", "IGA", "IU1", "IU2", "MDP", "MLP", "NA"]


class Custom(AllocationPolicy):
    """A registered-by-test policy that places nothing."""

    def __init__(self, *, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def _allocate(self, tasks, state):
        from policies.base import build_assignment, publish_order

        order = publish_order(tasks)
        return build_assignment(tasks, order, [], [], [], tasks.copies[order], 0)


class NotAPolicy:
    pass


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry, "_registered", {})


def test_builtins_are_listed_and_made_case_insensitively():
    assert set(BUILTINS) <= set(available_policies())
    assert isinstance(make_policy("mlp"), MLP)
    assert make_policy("Iu1", delta=0.8).delta == 0.8


def test_module_class_paths_take_keyword_parameters():
    policy = make_policy(f"{__name__}:Custom", alpha=2)
    assert isinstance(policy, Custom)
    assert policy.alpha == 2


def test_register_policy_by_class_and_by_path():
    register_policy("Mine", Custom)
    register_policy("lazy", f"{__name__}:Custom")
    assert isinstance(make_policy("MINE"), Custom)
    assert isinstance(make_policy("Lazy", alpha=3), Custom)
    assert {"Mine", "lazy"} <= set(available_policies())
    with pytest.raises(PolicyError, match="already taken"):
        register_policy("mine", Custom)
    with pytest.raises(PolicyError, match="already taken"):
        register_policy("mlp", Custom)
    register_policy("mlp", Custom, overwrite=True)
    assert isinstance(make_policy("MLP"), Custom)


def test_a_plug_in_is_found_through_the_entry_point_group(tmp_path, monkeypatch):
    (tmp_path / "mcsim_plugin_demo.py").write_text(
        textwrap.dedent("""
        from policies.probabilistic import IGA

        class Cautious(IGA):
            '''IGA with a stricter default threshold.'''

            def __init__(self, *, p_threshold: float = 0.8) -> None:
                super().__init__(p_threshold=p_threshold)
    """)
    )
    dist = tmp_path / "mcsim_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mcsim-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[mcsim.policies]\ncautious = mcsim_plugin_demo:Cautious\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "cautious" in available_policies()
    policy = make_policy("Cautious", p_threshold=0.9)
    assert type(policy).__name__ == "Cautious"
    assert policy.p_threshold == 0.9


def test_unknown_names_suggest_close_ones():
    with pytest.raises(PolicyError, match=r"unknown policy 'MPL'.*did you mean MLP"):
        make_policy("MPL")
    with pytest.raises(PolicyError, match="unknown policy 'zzz'"):
        make_policy("zzz")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_such_module_xyz:Policy", "cannot import module 'no_such_module_xyz'"),
        (f"{__name__}:Missing", f"module '{__name__}' has no attribute 'Missing'"),
        (f"{__name__}:NotAPolicy", "is not an AllocationPolicy subclass"),
        (":Policy", "must look like 'package.module:Class'"),
    ],
)
def test_bad_paths_say_what_is_wrong(path, message):
    with pytest.raises(PolicyError, match=message) as info:
        make_policy(path)
    assert path in str(info.value) or path.startswith(":")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("IU1", {"detla": 0.8}, r"IU1: unknown parameter 'detla' \(accepted parameters: delta\)"),
        ("MLP", {"delta": 0.8}, r"MLP: unknown parameter 'delta' \(accepted parameters: none\)"),
        ("IU1", {"delta": 1.5}, r"policy IU1: parameter delta must be in \[0, 1\], got 1.5"),
        ("IU1", {"delta": "high"}, r"policy IU1: parameter delta must be a number"),
        ("IGA", {"p_threshold": -0.1}, r"policy IGA: parameter p_threshold must be in \[0, 1\]"),
        ("BGA", {"p_threshold": 2}, r"policy BGA: parameter p_threshold must be in \[0, 1\]"),
    ],
)
def test_bad_parameters_name_the_policy_and_the_parameter(name, params, message):
    with pytest.raises(PolicyError, match=message):
        make_policy(name, **params)


def test_register_rejects_non_policies_and_bad_names() -> None:
    with pytest.raises(PolicyError, match="not an AllocationPolicy subclass"):
        register_policy("x", NotAPolicy)  # type: ignore[arg-type]  # a non-policy, on purpose
    with pytest.raises(PolicyError, match="contain no ':'"):
        register_policy("a:b", Custom)


def test_repr_shows_parameters():
    assert repr(IU1(delta=0.8)) == "IU1(delta=0.8)"
    assert repr(make_policy("NA")) == "NA()"
