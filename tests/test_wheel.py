"""The packaged defaults, as a new user meets them: a built wheel in a clean virtual environment.

The wheel is built from the files git tracks (a fresh clone's view), installed without its
dependencies into a new venv that borrows this interpreter's site-packages for them (so the
test needs no download), and run from a folder outside the source tree: the Gym env, the
default scenario and SenseGen sampling must work from package data alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.wheel


def _tracked_copy(target: Path) -> Path:
    """The files git tracks, copied with their symlinks (what a clone holds)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source, dest = REPO / name.decode(), target / name.decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, dest)
    return target


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know which files a wheel is built from")
    tmp = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(tmp / "src")
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=source, check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("mcsim-*.whl")
    env = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    # Dependencies from this interpreter: a plain path line, so its .pth files (among them
    # the editable install of the source tree) are not processed.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "mcsim_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


def _run(venv: Path, tmp_path: Path, *argv: str) -> str:
    result = subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MCSIM_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_wheel_is_what_runs(venv: Path, tmp_path: Path) -> None:
    where = _run(venv, tmp_path, "python", "-c", "import mcsim; print(mcsim.__file__)")
    assert str(venv) in where and str(REPO) not in where


def test_gym_make_finds_the_packaged_scenario(venv: Path, tmp_path: Path) -> None:
    code = (
        "import gymnasium, mcsim\n"
        "env = gymnasium.make('mcsim/Crowdsensing-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(obs.shape, env.action_space)"
    )
    assert _run(venv, tmp_path, "python", "-c", code).strip() == "(68,) Discrete(9)"


def test_mcsim_run_of_the_default_scenario(venv: Path, tmp_path: Path) -> None:
    _run(venv, tmp_path, "mcsim", "run", "campus", "--repetitions", "1", "--quiet")
    out = tmp_path / "runs" / "campus"  # the default folder: runs/<name> in the working folder
    assert {"metrics.csv", "manifest.json", "completion.png"} <= {p.name for p in out.iterdir()}


def test_sensegen_samples_from_the_packaged_checkpoint(venv: Path, tmp_path: Path) -> None:
    argv = ("mcsim", "sensegen", "sample", "--n", "2", "--steps", "64", "--out", "x.npy")
    _run(venv, tmp_path, *argv)
    data = np.load(tmp_path / "x.npy")
    assert data.shape == (2, 64, 3) and np.isfinite(data).all()
