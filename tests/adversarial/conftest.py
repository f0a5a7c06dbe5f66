"""The adversarial corpus: inputs a hostile or careless user might give, and what must happen.

Every case asserts a documented outcome: a one-line error naming the culprit (exit 1, no
traceback, nothing half-written, no process left behind), or a correct result. Commands run
in this process through :func:`mcsim.app.cli.main`, so a case costs milliseconds to a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mcsim.app.cli import main
from tests.adversarial.helpers import SMALL, Outcome


@pytest.fixture(scope="session", autouse=True)
def shared_mining_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One mining cache for the corpus, outside the repository."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MCSIM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def mcsim(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Outcome]:
    """Run ``mcsim ARGS`` in ``tmp_path`` (plug-in modules written there are importable)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def run(*argv: str) -> Outcome:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A small valid scenario file (a 31-day campus, 12 tasks, MDP, no SenseGen)."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path
