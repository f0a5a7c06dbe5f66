"""Reading a ``torch.save`` file of plain weights without importing torch.

Why: the simulator's SenseGen phones run in numpy (``generators.sensegen.runtime``), and
``import torch`` alone takes about 1.2 s, a third of the default campus run; reading the
checkpoint must not bring it back.

A ``torch.save`` file (the zip format torch has written since 1.6) is a zip archive holding
``<name>/data.pkl``, a pickle of the saved object in which every tensor is a call of
``torch._utils._rebuild_tensor_v2`` on a storage, and ``<name>/data/<key>``, each storage's raw
bytes. This reader unpickles with a whitelist, like ``torch.load(weights_only=True)``: the
only globals it resolves are that rebuild function, the typed storage classes and
``collections.OrderedDict``; any other global (a class whose ``__reduce__`` would run code)
raises :class:`ArchiveError` and nothing of the pickle is executed. Tensors come back as
read-only numpy arrays with the stored dtype, shape and strides (bfloat16, which numpy lacks,
widened exactly to float32); dicts, lists, tuples, str, int, float, bool and None as they
are.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

#: Typed storage class name -> numpy dtype of its elements ("BFloat16" is read as uint16).
_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class ArchiveError(ValueError):
    """Not a ``torch.save`` archive of plain weights (the message says what was found)."""


class _StorageType:
    """A typed storage class named in the pickle (resolved to its numpy dtype)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


def read_torch_archive(path: str | Path) -> Any:
    """The object saved in a ``torch.save`` file, tensors as read-only numpy arrays.

    Raises:
        ArchiveError: not a zip archive, no ``data.pkl``, a global outside the whitelist, a
            storage that is missing or shorter than its tensors, or a big-endian file.
        OSError: the file cannot be read.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ArchiveError(f"not a zip archive ({exc})") from exc
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise ArchiveError(f"expected one data.pkl in the archive, found {len(pickles)}")
        root = pickles[0][: -len("data.pkl")]
        order = f"{root}byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise ArchiveError("a big-endian archive; expected one written on a little-endian host")
        try:
            return _Unpickler(archive, root).load()
        except ArchiveError:
            raise
        except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, LookupError, TypeError,
                ValueError, AttributeError) as exc:  # fmt: skip
            raise ArchiveError(f"unreadable pickle ({type(exc).__name__}: {exc})") from exc


class _Unpickler(pickle.Unpickler):
    """Resolves only the whitelisted globals; storages are read from the archive once each."""

    def __init__(self, archive: zipfile.ZipFile, root: str) -> None:
        super().__init__(io.BytesIO(archive.read(f"{root}data.pkl")))
        self._archive = archive
        self._root = root
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise ArchiveError(
            f"refused global {module}.{name}; expected only tensors, dicts, lists, str, int "
            "and float (what torch.load(weights_only=True) reads)"
        )

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ArchiveError(f"unexpected persistent id {pid!r}; expected a storage")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType):
            raise ArchiveError(f"unexpected storage type {kind!r}")
        key = str(key)
        if key not in self._storages:
            raw = self._archive.read(f"{self._root}data/{key}")
            need = int(numel) * kind.dtype.itemsize
            if len(raw) < need:
                raise ArchiveError(f"storage {key} holds {len(raw)} bytes, expected {need}")
            values = np.frombuffer(raw, dtype=kind.dtype, count=int(numel))
            if kind.name == "BFloat16Storage":  # bfloat16 is float32's upper half: exact
                values = (values.astype(np.uint32) << 16).view(np.float32)
            self._storages[key] = values
        return self._storages[key]


def _rebuild_tensor(
    storage: np.ndarray,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    _requires_grad: bool,
    _hooks: Any,
    _metadata: Any = None,
) -> np.ndarray:
    """A tensor as a read-only copy of its view into the storage (bounds checked)."""
    if not isinstance(storage, np.ndarray):
        raise ArchiveError(f"a tensor rebuilt from {type(storage).__name__}, not a storage")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise ArchiveError(f"bad tensor geometry: size {size}, stride {stride}, offset {offset}")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) if all(size) else 0
    if all(size) and last >= len(storage):
        raise ArchiveError(f"a tensor of size {size} reaches past its storage ({len(storage)})")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False
    )
    out = np.array(view)  # own, contiguous memory: the archive's buffer is not kept alive
    out.flags.writeable = False
    return out
