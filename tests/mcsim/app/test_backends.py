"""Where jobs run (mcsim/app/backends.py): local processes or a real Ray cluster, with the
same results; bad addresses and names are one-line errors.

The Ray test starts a real local Ray instance on this machine's loopback; it skips when the
``ray`` extra is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcsim.app.backends import LocalBackend, make_backend
from mcsim.app.runner import run_scenario
from mcsim.app.scenario import shipped_scenario
from mcsim.errors import MCSimError

SMALL = {
    "trace.synthetic.days": 32,
    "sensor": "none",
    "repetitions": 3,
    "policies": ["MDP", "IU1", "NA"],
}


def _text(folder: Path) -> list[str]:
    """metrics.csv without the timing column."""
    rows = (folder / "metrics.csv").read_text().splitlines()
    drop = rows[0].split(",").index("alloc_seconds")
    return [",".join(v for i, v in enumerate(row.split(",")) if i != drop) for row in rows]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    run_scenario(shipped_scenario("campus"), out, quiet=True, overrides=SMALL)
    return out


@pytest.fixture
def ray_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback addresses only
    yield ray
    ray.shutdown()


def test_a_local_ray_instance_gives_the_local_results(
    ray_module: object, local_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    run_scenario(shipped_scenario("campus"), out, quiet=True, overrides=SMALL, backend="ray")
    assert _text(out) == _text(local_run)
    assert '"backend": "ray"' in (out / "manifest.json").read_text()


@pytest.mark.parametrize(
    ("name", "address", "says"),
    [
        ("ray", "127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1"),
        ("ray", "nonsense", "bad Ray address 'nonsense'"),
        ("local", "auto", "needs --backend ray"),
        ("dask", None, "unknown backend 'dask'"),
    ],
)
def test_bad_backends_and_addresses_are_one_line_errors(
    name: str, address: str | None, says: str, tmp_path: Path
) -> None:
    if name == "ray":
        pytest.importorskip("ray", reason="the ray extra is not installed")
    with pytest.raises(MCSimError, match=says):
        backend = make_backend(name, address)
        backend._connect(1)  # type: ignore[union-attr]
    assert list(tmp_path.iterdir()) == []


def test_the_local_backend_is_the_default() -> None:
    assert isinstance(make_backend("local"), LocalBackend)
