"""The test suite mirrors the packages: one test file per module.

For every module ``X/.../name.py`` of the packages ``mcsim``, ``generators`` and ``policies``
tracked by git (``__init__.py`` and ``__main__.py`` aside) there is a test file under
``tests/X/`` (any depth) named ``test_<name>.py`` or ``test_<prefix>_<name>.py``. Basenames
are kept unique across ``tests/`` (a prefix such as ``test_sim_days.py`` keeps them apart), so
a module's test file is found by its name alone. The test folders are packages
(``__init__.py``), so that ``tests/mcsim`` never shadows the ``mcsim`` package and conftest
files of different folders do not clash.

(Not named ``test_layout.py``: tests/generators/mobility/test_layout.py holds that basename.)
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
PACKAGES = ("mcsim", "generators", "policies")
NOT_MODULES = ("__init__.py", "__main__.py")


def tracked_modules() -> list[str]:
    """The packages' modules tracked by git (and still on disk), as repository paths."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", *PACKAGES],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked modules are unknown")
    return sorted(
        path
        for path in listed
        if path.endswith(".py") and Path(path).name not in NOT_MODULES and (REPO / path).is_file()
    )


def suite_files() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def has_test_file(module: str, tests: list[Path]) -> bool:
    """Whether ``tests/<package>/`` holds ``test_<name>.py`` or ``test_<prefix>_<name>.py``."""
    package, name = module.split("/")[0], Path(module).stem
    pattern = re.compile(rf"test_(?:\w+_)?{re.escape(name)}\.py")
    folder = TESTS / package
    return any(folder in t.parents and pattern.fullmatch(t.name) for t in tests)


def test_modules_are_found() -> None:
    modules = tracked_modules()
    assert "mcsim/seeding.py" in modules and "policies/registry.py" in modules
    assert not [m for m in modules if Path(m).name in NOT_MODULES]


def test_every_module_has_a_test_file() -> None:
    tests = suite_files()
    missing = [m for m in tracked_modules() if not has_test_file(m, tests)]
    assert not missing, (
        "modules without a test file (add tests/<package>/.../test_<name>.py, or "
        "test_<prefix>_<name>.py when that basename is taken):\n  " + "\n  ".join(missing)
    )


def test_test_basenames_are_unique() -> None:
    counts = Counter(t.name for t in suite_files())
    clashes = sorted(str(t.relative_to(REPO)) for t in suite_files() if counts[t.name] > 1)
    assert not clashes, (
        "test files share a basename (a module's test is found by name; add a prefix):\n  "
        + "\n  ".join(clashes)
    )


def test_the_rule_by_example() -> None:
    tests = [
        TESTS / "mcsim" / "sim" / "test_sim_days.py",
        TESTS / "mcsim" / "test_seeding.py",
        TESTS / "generators" / "test_days.py",
    ]
    assert has_test_file("mcsim/sim/days.py", tests)  # prefixed
    assert has_test_file("mcsim/seeding.py", tests)  # plain, another depth
    assert not has_test_file("policies/days.py", tests)  # another package's test
    assert not has_test_file("mcsim/sim/sensing.py", tests)
    assert not has_test_file("mcsim/sim/ays.py", tests)  # a prefix ends with "_"
