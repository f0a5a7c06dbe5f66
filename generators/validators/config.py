"""The reading validator's settings: network shape, training run, evaluation sizes.

They live here, apart from the torch code that uses them, so that the ``mcsim`` command line
(whose defaults they are) and scenario validation never import torch. The stored ones inherit
SenseGen's :class:`~generators.sensegen.config.StoredConfig` (one serialiser for every
checkpoint): written as plain dicts, read back strictly.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.sensegen.config import StoredConfig
from mcsim.platform.validation import MOVING_ACTIVITIES, STILL_ACTIVITIES

#: HAPT ids of the six steady activities: the activity head's classes, in its output order.
ACTIVITY_IDS = MOVING_ACTIVITIES + STILL_ACTIVITIES
ACTIVITY_NAMES = ("walking", "upstairs", "downstairs", "sitting", "standing", "laying")


@dataclass(frozen=True)
class ValidatorConfig(StoredConfig):
    """Shape of the validator network; stored in the checkpoint so it can be rebuilt.

    Attributes:
        n_axes: signal axes (3 for an accelerometer).
        channels: output channels of each convolution; every one after the first halves the
            time axis (stride 2).
        kernel: kernel size of every convolution [samples].
        hidden: units of the shared fully connected layer before the two heads.
        n_activities: outputs of the activity head (HAPT ids 1-6).
        eps_g: floor added to every RMS before dividing or taking its log [g] (well below a
            resting phone's 0.005 g, so a dead-still window stays finite).
    """

    n_axes: int = 3
    channels: tuple[int, ...] = (32, 48, 64, 64)  # [channels]
    kernel: int = 5  # [samples]
    hidden: int = 64  # [units]
    n_activities: int = 6
    eps_g: float = 1e-4  # [g]


@dataclass(frozen=True)
class Normalization(StoredConfig):
    """Per-axis RMS of the real training windows [g]; the scale features are log ratios to it."""

    rms_g: tuple[float, ...]


@dataclass(frozen=True)
class TrainConfig(StoredConfig):
    """One validator training run; stored in the checkpoint's training record.

    Attributes:
        seed: seeds the weights, the batches and the fabricated windows.
        held_out_users: HAPT users never trained on (the evaluation's real users).
        steps: length of the real windows cut from HAPT [samples] (2.56 s at 50 Hz).
        stride: step between training windows [samples].
        min_steps: shortest crop trained on, and so the shortest window judged [samples].
        epochs: passes over the real training windows.
        batch: real windows per step (plus as many fabricated ones).
        lr: peak Adam learning rate, decayed by a cosine to ``lr / 20``.
        weight_decay: Adam's L2 penalty.
        threads: torch threads (fixed, so that the run is reproducible).
    """

    seed: int = 0
    held_out_users: tuple[int, ...] = (20, 21, 22, 23, 24)
    steps: int = 128  # [samples]
    stride: int = 32  # [samples]
    min_steps: int = 64  # [samples] = 1.28 s
    epochs: int = 20
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    threads: int = 1


@dataclass(frozen=True)
class EvalConfig:
    """Sizes of an evaluation (defaults: well under a minute on one CPU core).

    Attributes:
        seed: seeds the fabricated windows and the SenseGen streams.
        steps: window length judged [samples] (128 = 2.56 s, the simulator's default).
        threshold: ``p_real`` at or above which a window counts as real (the platform's
            ``min_p_real``).
        fakes_per_kind: fabricated windows of each kind.
        noise_std_g: std of the fixed-level white noise test [g].
        sensegen_phones: SenseGen streams per activity.
        sensegen_windows: consecutive windows judged per stream.
    """

    seed: int = 0
    steps: int = 128  # [samples]
    threshold: float = 0.5
    fakes_per_kind: int = 500
    noise_std_g: float = 0.3  # [g]
    sensegen_phones: int = 100
    sensegen_windows: int = 2
