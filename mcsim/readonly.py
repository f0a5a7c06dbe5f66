"""Knowledge nobody downstream can change: arrays made read-only where they are built.

The platform's knowledge (mined patterns, p(loc | u), coordinates, last locations) is shared
by every policy of a job and by every step of an env. A plug-in that wrote into it would
silently corrupt the policies that run after it, so the arrays are frozen when the knowledge
is built: a write raises ``ValueError: assignment destination is read-only`` at once, which
the policy framework reports as that policy's error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse


def read_only(value: Any) -> Any:
    """Freeze a numpy array (in place) or a scipy sparse matrix's arrays; return it."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif sparse.issparse(value):
        for name in ("data", "indices", "indptr", "row", "col", "offsets"):
            array = getattr(value, name, None)
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
    return value


def freeze_fields(obj: Any, *names: str) -> None:
    """Freeze the named array attributes of ``obj`` (for a dataclass's ``__post_init__``)."""
    for name in names:
        read_only(getattr(obj, name))
