"""The shared checkpoint loader: every bad file is a CheckpointError naming it; no pickle runs."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from generators.checkpoint_io import check_finite, config_from_checkpoint, load_checkpoint_file
from generators.sensegen.config import StoredConfig
from mcsim.errors import CheckpointError

TAG = "mcsim-test/1"


@dataclass(frozen=True)
class _Settings(StoredConfig):
    width: int = 4


def _save(path: Path, **extra: object) -> Path:
    torch.save({"format": TAG, "weights": torch.ones(3), **extra}, path)
    return path


def _load(path: Path) -> dict[str, Any]:
    return load_checkpoint_file(path, TAG, ("format", "weights"), "a test .pt checkpoint")


class _Payload:
    """Unpickling this would create the file named by ``target`` (if code ran)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.target), "w"))


def test_a_good_file_loads(tmp_path: Path) -> None:
    ckpt = _load(_save(tmp_path / "ok.pt"))
    assert ckpt["format"] == TAG and torch.equal(ckpt["weights"], torch.ones(3))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"missing; expected a test \.pt") as info:
        _load(tmp_path / "nope.pt")
    assert info.value.path == str(tmp_path / "nope.pt")


def test_truncated_file(tmp_path: Path) -> None:
    path = _save(tmp_path / "cut.pt")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable torch checkpoint"):
        _load(path)


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "text.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        _load(path)


@pytest.mark.parametrize("wrap", ["pickle", "torch"])
def test_a_malicious_pickle_is_refused_unexecuted(tmp_path: Path, wrap: str) -> None:
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if wrap == "pickle":
        path.write_bytes(pickle.dumps({"format": TAG, "weights": _Payload(target)}, protocol=2))
    else:
        torch.save({"format": TAG, "weights": _Payload(target)}, path)
    assert not target.exists()
    with pytest.raises(CheckpointError, match=r"evil\.pt: not a readable torch checkpoint"):
        _load(path)
    assert not target.exists()


def test_other_format_tag_and_missing_keys(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"format": "mcsim-test/2", "weights": torch.ones(1)}, other)
    with pytest.raises(CheckpointError, match=r"other\.pt: expected a dict with format .*/2"):
        _load(other)
    bare = tmp_path / "bare.pt"
    torch.save([1, 2], bare)
    with pytest.raises(CheckpointError, match="got 'list'"):
        _load(bare)
    short = tmp_path / "short.pt"
    torch.save({"format": TAG}, short)
    with pytest.raises(CheckpointError, match=r"missing keys \['weights'\]"):
        _load(short)


def test_non_finite_tensors_are_named(tmp_path: Path) -> None:
    path = _save(tmp_path / "nan.pt", model={"layer": [torch.tensor([1.0, float("nan")])]})
    with pytest.raises(CheckpointError, match=r"tensor model\.layer\[0\] holds NaN"):
        _load(path)
    check_finite({"ids": torch.tensor([1, 2])}, path)  # integer tensors are not checked


def test_config_from_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    assert config_from_checkpoint(_Settings, {"s": {"width": 8}}, "s", path) == _Settings(8)
    with pytest.raises(CheckpointError, match=r"missing key 's' \(_Settings\)"):
        config_from_checkpoint(_Settings, {}, "s", path)
    with pytest.raises(CheckpointError, match=r"c\.pt: entry 's': _Settings: unknown keys"):
        config_from_checkpoint(_Settings, {"s": {"depth": 1}}, "s", path)
