"""Opening untrusted input files: regular files only, of a bounded size.

A trace, a scenario or a checkpoint path comes from a user. A symlink to ``/dev/zero`` would be
read until memory runs out, a FIFO would block forever, and a 50 GB file would exhaust the
machine before any parser could complain. :func:`check_regular_file` refuses each of them up
front with the same clear error, naming the file and what was expected.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mcsim.errors import InputError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_regular_file(
    path: str | Path,
    *,
    max_bytes: int,
    expected: str,
    error: type[InputError] = InputError,
) -> int:
    """The size [bytes] of ``path`` after checking it is a regular file within ``max_bytes``.

    Symlinks are followed (a link to a regular file is fine, one to a device is not).

    Args:
        path: the file.
        max_bytes: the largest size accepted.
        expected: what the file should be, for the message (e.g. "a CSV or Parquet trace").
        error: the error class raised (a subclass of :class:`~mcsim.errors.InputError`).

    Raises:
        error: missing, not a regular file, or too large.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"no such file; expected {expected}", path=path) from None
    except OSError as exc:
        raise error(f"cannot be read ({exc.strerror}); expected {expected}", path=path) from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise error(f"is {kind}; expected {expected} (a regular file)", path=path)
    if info.st_size > max_bytes:
        raise error(
            f"is {info.st_size:,} bytes, over the limit of {max_bytes:,}; expected {expected}",
            path=path,
        )
    return info.st_size
