"""The SenseGen settings that travel inside a checkpoint, and their one serialiser.

The settings classes (:class:`GeneratorConfig`, :class:`DiscriminatorConfig`,
:class:`TrainConfig`) and the data statistics (:class:`Normalizer`) live here, not beside the
torch code that uses them, so that building the ``mcsim`` command line (whose defaults they
are) and the simulator's numpy SenseGen (``runtime.py``) do not import torch (~1.2 s).

A ``weights_only`` torch checkpoint holds only plain containers and scalars, so each stored
frozen dataclass (the four above) is written as a dict of its fields with tuples as lists.
They all inherit :class:`StoredConfig` so that writing and reading follow one rule:

* :meth:`StoredConfig.to_dict` writes every field, tuples (also nested) as lists;
* :meth:`StoredConfig.from_dict` reads strictly: a key the class does not have is an error (a
  typo, or a checkpoint of another version, must not be half-read silently), a field without a
  default that is absent is an error, and a field typed as a tuple gets a tuple back (found
  from the dataclass's type hints, so no class converts by hand).

Every failure is a :class:`ConfigError` naming the class and the keys. Code that reads a
checkpoint turns it into ``mcsim.errors.CheckpointError`` naming the file and the entry
(``generators.checkpoint_io.config_from_checkpoint``).

No field has been removed from any stored class so far (fields were only added, and those
have defaults), so there is no list of retired keys: a checkpoint written by an older version
loads, and one with a key this version does not know is refused.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from mcsim.errors import CheckpointError
from mcsim.sim.sensing import SAMPLE_RATE_HZ

if TYPE_CHECKING:
    from generators.sensegen.data import Recording


#: What every SenseGen checkpoint holds: its format tag, its keys, and how errors name a missing
#: one; one definition for the torch loader (``model.load_checkpoint``) and the numpy one
#: (``runtime.NumpyGenerator.from_checkpoint``), which read the same files.
CHECKPOINT_FORMAT = "mcsim-sensegen-v1"
CHECKPOINT_KEYS = ("format", "config", "generator", "normalization", "activities")
CHECKPOINT_WHAT = "a SenseGen .pt checkpoint"

#: Whose real windows ``mcsim sensegen eval`` compares generated ones with
#: (``evaluate.EvalConfig.real_users``): here, torch-free, so the CLI can list them.
REAL_USERS = ("validation", "training")


def check_entries(config: GeneratorConfig, ckpt: Mapping[str, Any], path: str | Path) -> None:
    """The checkpoint's sample rate, statistics, activity and style names fit the simulator and
    the generator's ``config``. A checkpoint without ``sample_rate_hz`` (written before it was
    stored) is HAPT's 50 Hz.

    Raises:
        CheckpointError: another sample rate, normalisation mean/std not of ``n_axes`` values,
            or another number of activity (style) names than conditions (styles).
    """
    from generators.checkpoint_io import check_sample_rate  # checkpoint_io imports this module

    check_sample_rate(ckpt.get("sample_rate_hz", SAMPLE_RATE_HZ), path)
    norm = ckpt["normalization"]
    if not isinstance(norm, Mapping) or any(
        len(norm.get(k, ())) != config.n_axes for k in ("mean", "std")
    ):
        raise CheckpointError(f"expected normalization mean/std of {config.n_axes} axes", path=path)
    if config.n_conditions and len(ckpt["activities"]) != config.n_conditions:
        raise CheckpointError(
            f"expected {config.n_conditions} activity names, got {len(ckpt['activities'])}",
            path=path,
        )
    if config.n_styles and (config.n_conditions == 0 or config.n_styles < 0):
        raise CheckpointError(
            f"n_styles {config.n_styles} needs activity conditions and must be positive",
            path=path,
        )
    if len(ckpt.get("styles", ())) != config.n_styles:
        raise CheckpointError(
            f"expected {config.n_styles} style names (entry 'styles'), "
            f"got {len(ckpt.get('styles', ()))}",
            path=path,
        )


class ConfigError(ValueError):
    """A stored settings dict that does not fit its class (unknown, missing or mistyped keys)."""


class StoredConfig:
    """Mixin for frozen dataclasses stored in a checkpoint as plain dicts.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Demo(StoredConfig):
        ...     users: tuple[int, ...] = (1, 2)
        >>> Demo().to_dict()
        {'users': [1, 2]}
        >>> Demo.from_dict({"users": [3]})
        Demo(users=(3,))
        >>> Demo.from_dict({"user": [3]})
        Traceback (most recent call last):
        ...
        generators.sensegen.config.ConfigError: Demo: unknown keys ['user'] (known: ['users'])
    """

    # Declared for type checkers: every subclass is a dataclass (this is what ``fields`` needs).
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (tuples as lists) for a ``weights_only`` checkpoint."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: ``raw`` is not a dict, has keys the class does not know, lacks a
                field without a default, or holds a non-sequence where a tuple belongs.
        """
        name = cls.__name__
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{name}: expected a dict of settings, got {type(raw).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(map(str, set(raw) - known.keys()))
        if unknown:
            raise ConfigError(f"{name}: unknown keys {unknown} (known: {sorted(known)})")
        missing = [key for key, f in known.items() if key not in raw and _required(f)]
        if missing:
            raise ConfigError(f"{name}: missing required keys {missing}")
        values = dict(raw)
        for key in _tuple_fields(cls) & values.keys():
            value = values[key]
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{name}: key {key!r} must be a list, got {type(value).__name__}")
            values[key] = tuple(value)
        return cls(**values)


def _plain(value: Any) -> Any:
    """``value`` with every tuple (also inside lists and tuples) turned into a list."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _required(f: Field[Any]) -> bool:
    """Whether the dataclass field has no default."""
    return f.init and f.default is MISSING and f.default_factory is MISSING


def _tuple_fields(cls: type[StoredConfig]) -> frozenset[str]:
    """Names of the fields of ``cls`` whose type is a tuple (``tuple[int, ...]`` and so on)."""
    hints = typing.get_type_hints(cls)
    return frozenset(
        f.name
        for f in fields(cls)
        if hints.get(f.name) is tuple or typing.get_origin(hints.get(f.name)) is tuple
    )


@dataclass(frozen=True)
class GeneratorConfig(StoredConfig):
    """Shape of the SenseGen generator; stored in every checkpoint so the model can be rebuilt.

    Attributes:
        n_axes: d, the number of signal axes modelled jointly (3 for an accelerometer).
        hidden_size: units per LSTM layer (paper: 256).
        num_layers: stacked LSTM layers (paper: 3).
        fc_size: units of the sigmoid fully connected layer (paper: 128).
        n_components: Gaussian mixture components K (paper: 24).
        n_conditions: number of activity condition ids; index 0 means "no activity given"
            (the paper's unconditioned model), 1..n_conditions-1 are HAPT activity ids.
            0 switches conditioning off entirely (input is x_t only, exactly as in the paper).
        n_styles: styles, one per training user, crossed with the activities (0: none). A
            styled stream is conditioned on the pair (activity, style): its own one-hot
            input and learned start state per pair (:meth:`condition_ids`), so that a
            person's gait is chosen when the stream starts rather than left to emerge from
            its first draws (why: ``generators/checkpoints/README.md``, "a style per training
            user"). Activity 0 never carries a style: the unconditioned model stays the
            paper's.
        sigma_min: floor of every mixture scale, in normalised units (data std = 1). About
            0.002 g on HAPT, above the phone's 1/720 g quantisation step, so the mixture
            cannot collapse onto the quantisation lattice and drive the NLL to -inf.
        sigma_max: ceiling of every mixture scale, in normalised units.
    """

    n_axes: int = 3  # d [axes]
    hidden_size: int = 256  # [units]
    num_layers: int = 3
    fc_size: int = 128  # [units]
    n_components: int = 24  # K
    n_conditions: int = 13  # 0 = none + 12 HAPT activities
    sigma_min: float = 1e-2  # [normalised units]
    sigma_max: float = 1e2  # [normalised units]
    n_styles: int = 0  # [training users]

    @property
    def condition_width(self) -> int:
        """Width of the one-hot condition input: one column per (style, activity) pair, style
        0 being "no style" (``n_conditions`` without styles)."""
        return self.n_conditions * (1 + self.n_styles)

    def condition_ids(self, activities: np.ndarray, styles: np.ndarray) -> np.ndarray:
        """One-hot column of each (activity, style) pair: ``activity + n_conditions * style``,
        style 1..n_styles (0 = none), with the style dropped where the activity is 0.

        Example:
            >>> GeneratorConfig(n_styles=20).condition_ids(np.array([1, 0]), np.array([2, 5]))
            array([27,  0])
        """
        activities = np.asarray(activities, dtype=np.int64)
        styled = np.where(activities > 0, np.asarray(styles, dtype=np.int64), 0)
        return activities + self.n_conditions * styled


@dataclass(frozen=True)
class DiscriminatorConfig(StoredConfig):
    """Shape of the paper's discriminator (Sec. 3.2).

    Attributes:
        n_axes: d, axes of the windows it judges.
        hidden_size: LSTM units (paper: 64).
        fc_size: units of the sigmoid fully connected layer (paper: 16).
    """

    n_axes: int = 3  # d [axes]
    hidden_size: int = 64  # [units]
    fc_size: int = 16  # [units]


@dataclass(frozen=True)
class TrainConfig(StoredConfig):
    """Schedule and optimisation settings; stored in the checkpoint with the model config.

    Attributes:
        seed: seeds every random choice of the run.
        val_users: HAPT volunteers held out for validation (never trained on).
        rounds: rounds of Algorithm 1.
        g_steps: generator updates (one TBPTT chunk each) per round.
        d_steps: discriminator updates per round on the round's batch (paper: 200 epochs).
        lanes: generator batch size B (parallel TBPTT lanes).
        lane_life: mean chunks an unconditioned lane reads before it restarts from a fresh
            state (``data.Streams``).
        chunk: TBPTT chunk length L [samples].
        d_batch: m, real and generated windows per discriminator batch (m of each).
        window: discriminator window length [samples] (paper: 400 = 8 s at 50 Hz).
        burn_in: steps G runs from a fresh state before its windows start [samples], so that
            D judges steady-state output, not the start-up transient.
        lr_g: RMSProp learning rate of G at the start; it follows a cosine down to
            ``lr_g * lr_final_frac`` at the last round (a function of the round index only, so
            resuming needs no scheduler state).
        lr_final_frac: final fraction of ``lr_g``.
        lr_d: RMSProp learning rate of D.
        clip: maximal gradient norm (both networks).
        drop_condition: probability that a lane trains without its activity (condition
            dropout; 0 = always conditioned, 1 = the paper's unconditioned model only).
        input_noise: std of Gaussian noise added to G's inputs (never to its targets), in
            normalised units; see :meth:`Trainer.generator_phase` for why.
        sampled_inputs: probability that an input step is replaced by G's own one-step
            sample (parallel scheduled sampling, Duckworth et al. 2019; 0 = pure teacher
            forcing as in the paper). See :meth:`Trainer.mix_in_samples` for why.
        eval_every: rounds between evaluations of the NLL on fixed train and validation windows.
        eval_windows: windows (of ``window`` steps) in each fixed evaluation set.
        checkpoint_every: rounds between checkpoints on disk.
        input_noise_relative: with a positive value, the noise on a lane's axis is at most
            this share of that lane's and axis's std over the chunk (and never more than
            ``input_noise``): a quiet signal keeps its detail legible (see
            :meth:`Trainer.input_noise_std`). 0 = ``input_noise`` everywhere.
        amplitude_weight: weight of the amplitude loss beside the NLL (0 = none, the paper):
            how far the log std of G's own free-running windows is from that of real windows
            of their condition (``amplitude_target``; see :meth:`Trainer.amplitude_loss`).
            Needs activity conditions.
        amplitude_every: every this many generator updates, one carries the amplitude loss
            (a free-running roll-out costs about three teacher-forced updates).
        amplitude_lanes: generated windows per amplitude loss.
        amplitude_window: their length after ``burn_in`` [samples] (default: the simulator's
            2.56-s reading).
        lr_warmup: G's learning rate rises linearly over the first this many generator
            updates of a run (0 = none, as before). Why: RMSProp starts with an empty
            running average of squared gradients, so its first steps are up to 10x the
            learning rate (1 / sqrt(1 - 0.99^t)). From random weights there is little to
            lose; a fine-tune from a trained checkpoint (``--init``) is knocked off by it:
            without a warm-up the first round's NLL was -0.70 to -0.83 nats against -1.75
            to -2.2 after (``generators/checkpoints/README.md``, "Louder downstairs"). A
            resumed run keeps its optimiser state and counts on, so it does not warm up again.
        amplitude_target: what the amplitude loss matches per condition. ``"mean"`` (as
            before): the squared gap between each generated window's log std and the mean
            over real windows. ``"distribution"``: the energy distance between generated and
            real windows' log stds, from groups of generated windows of one condition. Why:
            the squared gap to the mean is least when every window is exactly as loud as the
            average, so it narrows the spread of loudness within a person (real walking's
            log std varies by 0.07-0.30 between one user's windows); the energy distance is
            zero only when the two distributions agree (Szekely & Rizzo 2013).
            ``"distribution-moving"``: the energy distance for walking, upstairs and
            downstairs, the squared gap to the mean at rest. Why: at rest the spread that
            "distribution" buys is real rest's few moving windows, and a model taught to move
            now and then bursts in long resting streams (``generators/checkpoints/README.md``,
            "Tried and not adopted: matching the spread of loudness").
    """

    seed: int = 0
    val_users: tuple[int, ...] = (21, 22, 23, 24)
    rounds: int = 300
    g_steps: int = 20
    d_steps: int = 5
    lanes: int = 64  # B
    lane_life: float = 8.0  # [chunks]
    chunk: int = 100  # L [samples]
    d_batch: int = 32  # m
    window: int = 400  # [samples]
    burn_in: int = 50  # [samples]
    lr_g: float = 1e-3
    lr_final_frac: float = 0.1
    lr_d: float = 1e-3
    clip: float = 1.0  # [gradient L2 norm]
    drop_condition: float = 0.5
    input_noise: float = 0.08  # [normalised units]
    sampled_inputs: float = 0.0
    eval_every: int = 10  # [rounds]
    eval_windows: int = 32
    checkpoint_every: int = 5  # [rounds]
    # Fields added after a checkpoint shipped go last: an older record re-saves in its order.
    input_noise_relative: float = 0.0  # [share of the chunk's std]
    amplitude_weight: float = 0.0
    amplitude_every: int = 4  # [generator updates]
    amplitude_lanes: int = 32
    amplitude_window: int = 128  # [samples]
    lr_warmup: int = 0  # [generator updates]
    amplitude_target: str = "mean"


@dataclass(frozen=True)
class Normalizer(StoredConfig):
    """Per-axis standardisation; the statistics travel in the checkpoint (as a plain dict).

    Attributes:
        mean: per-axis mean [g].
        std: per-axis standard deviation [g].
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, recordings: list[Recording]) -> Normalizer:
        """Statistics of the concatenated recordings (use training users only)."""
        data = np.concatenate([r.acc for r in recordings]).astype(np.float64)
        return cls(tuple(data.mean(0).tolist()), tuple(data.std(0).tolist()))

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """Physical [g] -> normalised, float32."""
        return ((x - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def denormalize(self, z: np.ndarray) -> np.ndarray:
        """Normalised -> physical [g], float32."""
        return (z * np.asarray(self.std) + np.asarray(self.mean)).astype(np.float32)
