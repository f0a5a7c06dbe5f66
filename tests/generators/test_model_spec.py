"""How a scenario names a model plug-in (generators.model_spec): a registered name, a shipped
checkpoint that must exist, or a checkpoint path relative to the scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.model_spec import ModelSpec, parse_model_spec
from mcsim.errors import InputError


def parse(spec: str, shipped: Path, base: Path | None = None) -> ModelSpec:
    return parse_model_spec(spec, registered={"none", "model"}, shipped={"model": shipped},
                            path_name="model", what="sensor", model="Toy", base=base)  # fmt: skip


def test_names_paths_and_their_errors(tmp_path: Path) -> None:
    shipped = tmp_path / "shipped.pt"
    shipped.write_bytes(b"x")
    assert parse("  NONE ", shipped) == ModelSpec("none")
    assert str(parse("model", shipped)) == "model"
    (tmp_path / "mine.pt").write_bytes(b"x")
    assert parse("mine.pt", shipped, base=tmp_path) == ModelSpec("model", tmp_path / "mine.pt")
    with pytest.raises(InputError, match="unknown sensor 'oracle'; expected one of 'model', "):
        parse("oracle", shipped)
    with pytest.raises(InputError, match="no such checkpoint"):
        parse("other.pt", shipped, base=tmp_path)
    with pytest.raises(InputError, match=r"shipped Toy checkpoint .* is missing; expected 'none'"):
        parse("model", tmp_path / "gone.pt")
