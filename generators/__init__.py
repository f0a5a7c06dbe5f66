"""Data generators for mcsim: SenseGen accelerometer streams (``generators.sensegen``), the
sensor interface the simulator uses (``generators.sensors``) and synthetic mobility."""

from importlib import resources
from pathlib import Path


def shipped_checkpoint(file_name: str) -> Path:
    """A checkpoint shipped as package data (``generators/checkpoints/``), found through
    importlib.resources so that it works from a wheel as from the source tree."""
    return Path(str(resources.files("generators") / "checkpoints" / file_name))
