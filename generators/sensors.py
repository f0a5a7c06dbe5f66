"""Phone sensors for the simulator: SenseGen, a noise stand-in, and the registry that names them.

The world only needs the :class:`~mcsim.sim.sensing.SensorGenerator` protocol ("one fresh
window per keyed reading"), defined in the core beside the world that calls it. This module
implements it twice: ``SenseGenSensor`` serves a trained SenseGen checkpoint (in numpy, without
torch, in float32 on the CPU), ``NoiseSensor`` is a cheap seeded stand-in for tests and for
``sensor: none``. A plug-in registered before
readings were keyed, with the streaming ``reset(n_phones, seed)`` / ``sample(phones, steps,
activities)`` pair instead of ``windows``, still works: :func:`register_sensor` wraps it so
that each reading is a fresh stream of its own (its windows then depend on the batch).

A scenario names its sensor with one string, parsed here once (:func:`parse_sensor_spec`) for
both validation and loading: a registered name (``none``, a shipped SenseGen of
:data:`SHIPPED_SENSEGEN`, or any name added with :func:`register_sensor`) or the path of a
SenseGen ``.pt`` checkpoint.

``sensegen-bf16`` is the shipped model with its LSTM run in bfloat16 by torch: about 1.75x
faster per core than torch in float32 on a CPU with native bfloat16 (avx512_bf16 or AMX; it
pays ``import torch``, about 1 s, once per process), with streams whose per-window statistics
cannot be told from float32's (see ``generators.sensegen.sample``), but other arrays than
``sensegen``'s, so it is an explicit choice, not the default. A CPU without AVX-512 has no
bfloat16 LSTM in oneDNN: loading a bfloat16 sensor there fails with an InputError that says
so, before a run starts. ``sensegen-small`` is the same recipe trained at half the width
(3 x LSTM 128, a quarter of the arithmetic per phone-step, without styles) for days with
100,000 phones; its realism beside the paper model's is in
``generators/checkpoints/README.md``. The paper-width checkpoint has a style per training
user, picked by each reading's phone, so a simulated person walks with one gait in all of
their readings.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from generators.model_spec import ModelSpec, parse_model_spec
from generators.sensegen import SHIPPED_CHECKPOINT, SMALL_CHECKPOINT
from mcsim.errors import InputError
from mcsim.sim.sensing import N_AXES, SensorGenerator, check_keys, reading_rng

if TYPE_CHECKING:
    from generators.sensegen.runtime import NumpyGenerator
    from generators.sensegen.sample import Precision, Sampler


class SenseGenSensor:
    """SenseGen windows from a checkpoint (default: the one shipped with the package).

    In float32 on the CPU the windows come from the numpy generator
    (:class:`~generators.sensegen.runtime.NumpyGenerator`), which needs no torch; bfloat16 or
    another device runs the torch model (:class:`~generators.sensegen.sample.Sampler`).

    Args:
        checkpoint: path of a ``.pt`` checkpoint, or None for the shipped HAPT model.
        device: torch device for generation (``"cpu"``: numpy in float32).
        precision: the LSTM's arithmetic, ``"fp32"`` or ``"bf16"`` (see the module docstring).
    """

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        device: str = "cpu",
        precision: Precision = "fp32",
    ) -> None:
        self.generator: NumpyGenerator | Sampler
        if precision == "fp32" and device == "cpu":
            from generators.sensegen.runtime import NumpyGenerator

            self.generator = NumpyGenerator.from_checkpoint(checkpoint)
        else:
            from generators.sensegen.sample import Sampler  # torch only where it is needed

            self.generator = Sampler.from_checkpoint(checkpoint, device=device, precision=precision)

    @property
    def conditions_on_activity(self) -> bool:
        """True when the checkpoint was trained with activity conditions."""
        return self.generator.conditions_on_activity

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """One fresh SenseGen window per key; see :class:`SensorGenerator`."""
        return self.generator.windows(seed, keys, steps, activities)


class NoiseSensor:
    """Independent Gaussian noise per reading: a trivial, fast, seeded stand-in for SenseGen.

    Args:
        std_g: standard deviation of every axis [g] (0.1 g is roughly HAPT walking).
    """

    conditions_on_activity = False  # the activity does not change the noise

    def __init__(self, std_g: float = 0.1) -> None:
        self.std_g = std_g

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """A window of noise per key, from ``reading_rng(seed, key)`` (activities ignored)."""
        arr = check_keys(keys)
        if steps < 0:
            raise InputError(f"steps must be >= 0, got {steps}")
        out = np.empty((len(arr), steps, N_AXES), dtype=np.float32)
        for row, key in enumerate(arr):
            out[row] = reading_rng(seed, key).normal(0.0, self.std_g, (steps, N_AXES))
        return out


@runtime_checkable
class StreamingSensor(Protocol):
    """The sensor protocol before readings were keyed: phones' continuing streams."""

    conditions_on_activity: bool

    def reset(self, n_phones: int, seed: int) -> None: ...

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray: ...


class StreamingAdapter:
    """A :class:`StreamingSensor` as a :class:`SensorGenerator`: each call's readings are
    fresh streams ``0 .. n-1`` of a reset seeded by ``seed`` (so, unlike the shipped sensors',
    a window depends on the other readings of the call)."""

    def __init__(self, sensor: StreamingSensor) -> None:
        self.sensor = sensor
        self.conditions_on_activity = bool(sensor.conditions_on_activity)

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        self.sensor.reset(len(keys), seed)
        return self.sensor.sample(np.arange(len(keys)), steps, activities)


SensorFactory = Callable[[], SensorGenerator]

#: The shipped SenseGen sensors: name -> (checkpoint, the LSTM's arithmetic).
SHIPPED_SENSEGEN: dict[str, tuple[Path, Precision]] = {
    "sensegen": (SHIPPED_CHECKPOINT, "fp32"),
    "sensegen-bf16": (SHIPPED_CHECKPOINT, "bf16"),
    "sensegen-small": (SMALL_CHECKPOINT, "fp32"),
    "sensegen-small-bf16": (SMALL_CHECKPOINT, "bf16"),
}

#: Sensor names a scenario may use -> a factory (lower-case names; see :func:`register_sensor`).
SENSORS: dict[str, SensorFactory] = {
    "none": NoiseSensor,
    **{
        name: partial(SenseGenSensor, path, precision=precision)
        for name, (path, precision) in SHIPPED_SENSEGEN.items()
    },
}


def register_sensor(name: str, factory: Callable[[], SensorGenerator | StreamingSensor]) -> None:
    """Make ``sensor: NAME`` in a scenario build ``factory()``: a :class:`SensorGenerator`,
    or a :class:`StreamingSensor` (wrapped in a :class:`StreamingAdapter`)."""
    key = name.strip().lower()
    if not key or key.endswith(".pt"):
        raise InputError(f"bad sensor name {name!r}; expected a word (not a .pt path)")
    SENSORS[key] = partial(_as_sensor, factory)


def _as_sensor(factory: Callable[[], SensorGenerator | StreamingSensor]) -> SensorGenerator:
    sensor = factory()
    if isinstance(sensor, SensorGenerator):
        return sensor
    if isinstance(sensor, StreamingSensor):
        return StreamingAdapter(sensor)
    raise InputError(
        f"sensor factory {factory!r} made {type(sensor).__name__}, which has neither "
        "windows(seed, keys, steps, activities) nor reset(n_phones, seed) and "
        "sample(phones, steps, activities)"
    )


SensorSpec = ModelSpec  # a parsed ``sensor`` value (a name, or a SenseGen checkpoint path)


def parse_sensor_spec(spec: str | None, base: Path | None = None) -> SensorSpec:
    """Read a scenario's ``sensor`` value (checked here, before anything is loaded).

    Args:
        spec: a registered name (case-insensitive), a ``.pt`` path, or None (``none``).
        base: folder that a relative checkpoint path is relative to (the scenario's).

    Raises:
        InputError: an unknown name, a missing checkpoint file or a missing shipped checkpoint.
    """
    return parse_model_spec(
        "none" if spec is None else spec,
        registered=SENSORS,
        shipped={name: path for name, (path, _) in SHIPPED_SENSEGEN.items()},
        path_name="sensegen",
        what="sensor",
        model="SenseGen",
        base=base,
    )


def load_sensor(spec: str | SensorSpec | None) -> SensorGenerator:
    """The sensor generator for a scenario's ``sensor`` value (see :func:`parse_sensor_spec`).

    Raises:
        InputError: an unknown spec; CheckpointError: a bad checkpoint file.
    """
    parsed = spec if isinstance(spec, SensorSpec) else parse_sensor_spec(spec)
    if parsed.checkpoint is not None:
        return SenseGenSensor(parsed.checkpoint)
    return SENSORS[parsed.name]()
