"""Knowledge frozen where it is built (mcsim/readonly.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mcsim.mining.locations import LocationModel, Locations
from mcsim.readonly import freeze_fields, read_only


def test_arrays_and_sparse_matrices_become_read_only() -> None:
    array = read_only(np.arange(3))
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 9
    matrix = read_only(sparse.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match="read-only"):
        matrix.data[0] = 9
    assert read_only("not an array") == "not an array"


def test_knowledge_classes_freeze_their_arrays() -> None:
    locations = Locations(pd.Index(["a", "b"]), np.zeros(2), np.ones(2))
    model = LocationModel(sparse.csr_matrix(np.array([[0.5, 0.5]])))
    for array in (locations.latitude, locations.longitude, model.probability.data):
        assert not array.flags.writeable


def test_freeze_fields_names_attributes() -> None:
    class Holder:
        def __init__(self) -> None:
            self.a, self.b = np.zeros(2), np.zeros(2)

    holder = Holder()
    freeze_fields(holder, "a")
    assert not holder.a.flags.writeable and holder.b.flags.writeable
