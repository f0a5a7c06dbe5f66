"""Reading ``torch.save`` files without torch: the same values as torch.load, nothing run."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, SMALL_CHECKPOINT
from generators.torch_archive import ArchiveError, read_torch_archive
from generators.validators import SHIPPED_CHECKPOINT as SHIPPED_VALIDATOR


def _same(ours: Any, theirs: Any, where: str = "") -> None:
    """``ours`` holds what ``theirs`` (torch.load's) holds, tensors as equal numpy arrays."""
    if isinstance(theirs, torch.Tensor):
        expected = theirs.float() if theirs.dtype == torch.bfloat16 else theirs
        assert isinstance(ours, np.ndarray) and not ours.flags.writeable, where
        assert ours.dtype == expected.numpy().dtype and ours.shape == tuple(theirs.shape), where
        np.testing.assert_array_equal(ours, expected.numpy(), err_msg=where)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs), where
        for key in theirs:
            _same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list | tuple):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, where


@pytest.mark.parametrize(
    "path", [SHIPPED_CHECKPOINT, SMALL_CHECKPOINT, SHIPPED_VALIDATOR], ids=lambda p: p.name
)
def test_shipped_checkpoints_read_as_torch_reads_them(path: Path) -> None:
    _same(read_torch_archive(path), torch.load(path, weights_only=True))


def test_views_dtypes_and_bfloat16(tmp_path: Path) -> None:
    """Views into a shared storage (offsets, transposes), integer and bfloat16 tensors."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    saved = {
        "t": base.t(),
        "row": base[2],
        "slice": base[1:, 3:],
        "long": torch.tensor([1, -2, 3]),
        "bool": torch.tensor([True, False]),
        "bf16": torch.tensor([1.5, -3.25, 1e-3], dtype=torch.bfloat16),
        "empty": torch.zeros(0, 3),
        "nested": [{"a": (1, 2.5, "x", None, True)}],
    }
    torch.save(saved, tmp_path / "v.pt")
    _same(read_torch_archive(tmp_path / "v.pt"), torch.load(tmp_path / "v.pt", weights_only=True))


class _Payload:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.target, "executed"))


def test_a_pickle_that_would_run_code_is_refused_not_run(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"x": _Payload(target)}, protocol=2))
    with pytest.raises(ArchiveError, match="refused global"):
        read_torch_archive(path)
    assert not target.exists()


def test_malformed_archives(tmp_path: Path) -> None:
    (tmp_path / "text.pt").write_bytes(b"not a zip file at all")
    with pytest.raises(ArchiveError, match="not a zip archive"):
        read_torch_archive(tmp_path / "text.pt")
    with zipfile.ZipFile(tmp_path / "nopickle.pt", "w") as archive:
        archive.writestr("x/other.bin", b"")
    with pytest.raises(ArchiveError, match=r"expected one data\.pkl"):
        read_torch_archive(tmp_path / "nopickle.pt")
    with zipfile.ZipFile(tmp_path / "garbage.pt", "w") as archive:
        archive.writestr("x/data.pkl", b"\x80\x02garbage")
    with pytest.raises(ArchiveError, match="unreadable pickle"):
        read_torch_archive(tmp_path / "garbage.pt")


def test_a_storage_shorter_than_its_tensor_is_refused(tmp_path: Path) -> None:
    torch.save({"w": torch.ones(100)}, tmp_path / "w.pt")
    shortened = tmp_path / "short.pt"
    with zipfile.ZipFile(tmp_path / "w.pt") as src, zipfile.ZipFile(shortened, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data[:40] if name.endswith("data/0") else data)
    with pytest.raises(ArchiveError, match="storage 0 holds 40 bytes, expected 400"):
        read_torch_archive(shortened)


def test_a_truncated_file_is_an_error(tmp_path: Path) -> None:
    torch.save({"w": torch.ones(10_000)}, tmp_path / "w.pt")
    data = (tmp_path / "w.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError):
        read_torch_archive(tmp_path / "cut.pt")


def test_a_tensor_of_something_else_than_a_storage_is_an_archive_error(tmp_path: Path) -> None:
    """A hand-made pickle calling the rebuild function on a number, not a storage."""
    body = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00(K\x05K\x00(K\x01tq\x01(K\x01tq\x02"
        b"\x89ccollections\nOrderedDict\nq\x03)Rq\x04tq\x05Rq\x06."
    )
    with zipfile.ZipFile(tmp_path / "odd.pt", "w") as archive:
        archive.writestr("odd/data.pkl", body)
    with pytest.raises(ArchiveError, match="rebuilt from int, not a storage"):
        read_torch_archive(tmp_path / "odd.pt")
