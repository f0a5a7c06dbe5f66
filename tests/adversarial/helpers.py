"""Helpers of the adversarial corpus: the small scenario, command outcomes, process checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SMALL = """\
name: small
seed: 7
trace:
  synthetic: {preset: wtd, days: 31}
split: {train_cycles: 30}
mining: {minsup: 0.5, max_length: 4}
tasks:
  count: 12
  copies: 24
  publish: {start_h: 4, end_h: 8, batches: 2}
  deadline_h: 6
  locations: frequent
g: 4
policies: [MDP]
sensor: none
repetitions: 1
"""


@dataclass
class Outcome:
    """What a command did: its exit status and the lines it printed."""

    code: int
    out: str
    err: str

    def one_line_error(self, *fragments: str) -> None:
        """Exit 1 with exactly one ``mcsim: error:`` line holding every fragment."""
        assert self.code == 1, (self.code, self.err)
        lines = self.err.strip().splitlines()
        errors = [line for line in lines if line.startswith("mcsim: error:")]
        assert len(errors) == 1, self.err
        assert "Traceback" not in self.err, self.err
        for fragment in fragments:
            assert fragment in errors[0], (fragment, errors[0])


def leftovers(folder: Path) -> list[str]:
    """Hidden staging or temporary entries left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
