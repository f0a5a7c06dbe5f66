"""The trained SenseGen generator in numpy: the simulator's keyed windows without torch.

Why a second forward pass beside the torch model (``model.SenseGenGenerator``): a simulated
phone only ever asks for fresh windows from a fixed model, and ``import torch`` alone takes
about 1.2 s, a third of the default campus run, before any arithmetic. In numpy the same
float32 arithmetic runs at least as fast (one matrix product per layer and step, the LSTM's
input and recurrent weights stacked; the three sigmoid gates through one ``tanh``, their 0.5
folded into the weights), the checkpoint is read without torch
(:func:`generators.checkpoint_io.load_checkpoint_arrays`), and nothing imports torch at all.
Torch stays the reference: ``tests/generators/test_sensegen_runtime.py`` compares windows with
a step-by-step roll of the torch model (``SenseGenGenerator.lstm``, ``mixture`` and ``pick``)
from the same draws, and the shipped models' windows with torch's ``Sampler.windows``; they
agree to float32 rounding, not bit for bit (the sums run in another order).

A window is a fresh stream of its activity: the model's learned start state, ``burn_in``
discarded steps, then ``steps`` samples, with its uniforms and normals drawn from
``mcsim.sim.sensing.reading_rng(seed, key)`` (:func:`key_draws`), so a row depends only on its
seed, key and activity, not on the batch it is rolled in, its chunk or the threads. That
needs every matrix product to sum a row the same way whatever the number of rows, which
OpenBLAS does not promise (measured on this machine, float32, one or two threads): one row
goes through another kernel (a matrix-vector product), and so do products of fewer than about
10^6 multiply-adds (a "small matrix" kernel), which sums in another order for the mixture head
(128 x 168) below 47 rows; the LSTM layers' products (weights on the left, streams as
columns: :class:`_Layer`) agree for 9 to 1,200 streams at any position, not for 2-8. So a
batch is padded to at least :data:`BLOCK_ROWS` rows, no chunk is smaller, and the mixture head
(its two products) always runs on blocks of exactly :data:`BLOCK_ROWS` rows, whatever the
chunk.
The tests check a row alone, in batches, chunks and thread counts, bit for bit.

Rows are rolled in nearly equal chunks of at most ``chunk`` (a few hundred rows keep a layer's
weights and state in cache), at least one per thread while each keeps :data:`BLOCK_ROWS`
rows; chunks run in ``workers`` threads (numpy releases the GIL in its kernels) with BLAS held
to one thread each, and a lone chunk (the campus's ~24-row calls) gets the threads through
BLAS, which splits a product's columns. So N runner workers, each told its share of the cores
(``$MCSIM_SENSOR_THREADS``), never run more threads than cores.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from generators.checkpoint_io import config_from_checkpoint, load_checkpoint_arrays
from generators.sensegen import SHIPPED_CHECKPOINT, threads_from_environment
from generators.sensegen.config import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_KEYS,
    CHECKPOINT_WHAT,
    GeneratorConfig,
    Normalizer,
    check_entries,
)
from mcsim.errors import CheckpointError, InputError
from mcsim.processes import usable_cores
from mcsim.sim.sensing import check_keys, reading_rng

#: Rows a roll pads to at least, and the block the mixture head is computed in (see the module
#: docstring).
BLOCK_ROWS = 16
#: Phone-steps of random numbers drawn ahead at most (32 MB of float32 uniforms and normals).
DRAWS_PER_BLOCK = 1 << 21


def check_steps(steps: int) -> None:
    """Raises InputError unless ``steps`` is a non-negative integer."""
    if not isinstance(steps, int | np.integer) or steps < 0:
        raise InputError(f"steps must be a non-negative integer, got {steps!r}")


def check_conditions(
    activities: np.ndarray | None, n: int, n_conditions: int, names: list[str]
) -> np.ndarray:
    """Validated condition ids (n,) as int64: zeros ("none") when ``activities`` is None.

    Raises:
        InputError: another shape, a non-integer array, an id out of range, or an id other
            than 0 for a model without conditioning.
    """
    if activities is None:
        return np.zeros(n, dtype=np.int64)
    arr = np.asarray(activities)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(
            f"activities must be an integer array of shape ({n},), "
            f"got shape {arr.shape} of {arr.dtype}"
        )
    if n_conditions == 0 and arr.any():
        raise InputError("this checkpoint has no activity conditioning")
    if n_conditions and arr.size and (arr.min() < 0 or arr.max() >= n_conditions):
        raise InputError(
            f"activity ids must lie in [0, {n_conditions}); names: {', '.join(names[1:])}"
        )
    return arr.astype(np.int64)


#: Mixed into a phone's index to pick its style (:func:`person_styles`): a fixed constant, so a
#: person keeps one gait on every day, in every repetition and on every backend.
STYLE_SALT = 0x5E25E6E7A11C0DE


def person_styles(phones: np.ndarray, n_styles: int) -> np.ndarray:
    """The style (1..n_styles) of each simulated phone's person: a splitmix64 hash of the
    phone index, uniform over the training users' styles and the same for a phone whatever
    else is sampled. Why a hash, not a draw from a reading's key: one person walks with one
    gait in all their readings.

    Example:
        >>> styles = person_styles(np.arange(5), 20)
        >>> bool(styles.min() >= 1 and styles.max() <= 20)
        True
        >>> person_styles(np.array([3]), 20)[0] == styles[3]  # whatever else is sampled
        np.True_
    """
    z = np.asarray(phones, dtype=np.uint64) + np.uint64(STYLE_SALT)
    with np.errstate(over="ignore"):
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z % np.uint64(n_styles)).astype(np.int64) + 1


def stream_conditions(
    activities: np.ndarray | None, phones: np.ndarray, config: GeneratorConfig, names: list[str]
) -> np.ndarray:
    """Validated condition ids of the streams of ``phones`` in ``activities`` (None: none for
    all): the activity ids (:func:`check_conditions`), or, for a checkpoint with styles, each
    (activity, person's style) pair's (:meth:`GeneratorConfig.condition_ids`).

    Raises:
        InputError: as :func:`check_conditions`.
    """
    cond = check_conditions(activities, len(phones), config.n_conditions, names)
    if not config.n_styles:
        return cond
    return config.condition_ids(cond, person_styles(phones, config.n_styles))


def key_draws(
    seed: int, keys: np.ndarray, total: int, axes: int, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """The random numbers of fresh windows: per key, ``total`` uniforms then ``total`` x
    ``axes`` standard normals from ``reading_rng(seed, key)``.

    Returns:
        ``u`` (total, rows, 1) and ``eps`` (total, rows, axes), float32; rows past
        ``len(keys)`` (padding) are zeros.
    """
    u = np.zeros((total, rows, 1), np.float32)
    eps = np.zeros((total, rows, axes), np.float32)
    for row, key in enumerate(keys):
        rng = reading_rng(seed, key)
        u[:, row, 0] = rng.random(total, dtype=np.float32)
        eps[:, row] = rng.standard_normal((total, axes), dtype=np.float32)
    return u, eps


def keyed_windows(
    seed: int,
    keys: np.ndarray,
    steps: int,
    activities: np.ndarray | None,
    *,
    config: GeneratorConfig,
    names: list[str],
    burn_in: int,
    normalizer: Normalizer,
    roll: Callable[[int, np.ndarray, np.ndarray, int], np.ndarray],
) -> np.ndarray:
    """One fresh window per key, whichever roller draws them (:class:`NumpyGenerator`, or
    torch's ``Sampler.windows``): the checks, the rows in blocks of at most
    :data:`DRAWS_PER_BLOCK` phone-steps of draws, burn-in cut and physical units.

    Args:
        seed: the day's sensor seed.
        keys: (n, k) non-negative integer keys.
        steps: samples per window (50 Hz).
        activities: per-window activity ids (n,), 0 = none; None = none for all. A styled
            checkpoint's windows are in the style of the person of each key's first entry,
            the phone (:func:`person_styles`).
        roll: ``roll(seed, keys, cond, total)``, the (rows, total, d) normalised streams of a
            block of keys with condition ids ``cond``, burn-in included.

    Returns:
        float32 array (n, steps, 3) of body acceleration [g].

    Raises:
        InputError: bad shapes, steps or activity ids.
    """
    keys = check_keys(keys)
    check_steps(steps)
    n = len(keys)
    # A reading's key starts with its phone (``mcsim.sim.sensing.Reading.key``).
    phones = keys[:, 0] if keys.shape[1] else np.zeros(n, np.int64)
    cond = stream_conditions(activities, phones, config, names)
    if n == 0 or steps == 0:
        return np.zeros((n, int(steps), config.n_axes), np.float32)
    total = burn_in + int(steps)
    per_block = max(1, DRAWS_PER_BLOCK // total)
    parts = [
        roll(seed, keys[lo : lo + per_block], cond[lo : lo + per_block], total)
        for lo in range(0, n, per_block)
    ]
    return normalizer.denormalize(np.concatenate(parts)[:, burn_in:])


@dataclass(frozen=True)
class _Layer:
    """One LSTM layer as one product, rows as columns: ``weight @ [input; h] + bias`` gives
    the gates in the order (i, f, o, g), the rows of i, f and o halved (sigmoid(z) =
    0.5 tanh(z / 2) + 0.5), so that one ``tanh`` serves all four gates. Why the weights on the
    left: with the streams as the product's columns, OpenBLAS runs a few dozen streams 1.3-1.7x
    faster (measured: 76 against 58 GFLOP/s for 24 streams, 104 against 98 for 512)."""

    weight: np.ndarray  # (4 hidden, inputs + hidden)
    bias: np.ndarray  # (4 hidden, 1)


class NumpyGenerator:
    """A trained SenseGen generator's keyed windows, in numpy.

    Args:
        config: the generator's shape (from the checkpoint).
        weights: the torch state dict as numpy arrays (``lstm.weight_ih_l0`` ...).
        normalizer: the training statistics, to return physical units [g].
        activities: activity names by condition id (index 0 = none).
        burn_in: discarded steps of every fresh stream before its window [samples].
        chunk: rows rolled together at most, at least ``2 * BLOCK_ROWS`` so that no chunk of a
            nearly equal split is smaller than :data:`BLOCK_ROWS` [rows].
        workers: threads rolling chunks at once (None: ``$MCSIM_SENSOR_THREADS`` if set,
            else every usable core). The arrays do not depend on it.

    Raises:
        CheckpointError: weights of another shape than ``config`` says (``path`` named when
            built by :meth:`from_checkpoint`).
    """

    def __init__(
        self,
        config: GeneratorConfig,
        weights: dict[str, np.ndarray],
        normalizer: Normalizer,
        activities: list[str],
        burn_in: int = 50,
        *,
        chunk: int = 512,
        workers: int | None = None,
        path: Path | None = None,
    ) -> None:
        if chunk < 2 * BLOCK_ROWS:
            raise InputError(f"chunk must be >= {2 * BLOCK_ROWS} rows, got {chunk}")
        if workers is not None and workers < 1:
            raise InputError(f"workers must be >= 1, got {workers}")
        if workers is None:
            threads_from_environment()  # a bad value fails here, before any job samples
        self.config = config
        self.normalizer = normalizer
        self.activities = list(activities)
        self.burn_in = burn_in
        self.chunk = chunk
        self.workers = workers
        _check_shapes(config, weights, path)
        d, hidden = config.n_axes, config.hidden_size
        self._layers: list[_Layer] = []
        for layer in range(config.num_layers):
            w_ih = weights[f"lstm.weight_ih_l{layer}"]
            inputs = w_ih[:, :d] if layer == 0 else w_ih  # layer 0: the condition goes below
            stacked = np.concatenate([inputs, weights[f"lstm.weight_hh_l{layer}"]], axis=1)
            bias = weights[f"lstm.bias_ih_l{layer}"] + weights[f"lstm.bias_hh_l{layer}"]
            gates_weight = np.ascontiguousarray(_gates(stacked.T, hidden).T)
            self._layers.append(_Layer(gates_weight, _gates(bias, hidden)[:, None]))
        # The one-hot condition's share of layer 0's gates, one column per condition id.
        self._condition_gates = np.ascontiguousarray(
            _gates(weights["lstm.weight_ih_l0"][:, d:].T, hidden).T
        )
        self._start = np.asarray(weights["initial_state"], np.float32)
        self._fc_weight = np.ascontiguousarray(weights["fc.weight"].T, np.float32)
        self._fc_bias = np.asarray(weights["fc.bias"], np.float32)
        self._head_weight = np.ascontiguousarray(weights["head.weight"].T, np.float32)
        self._head_bias = np.asarray(weights["head.bias"], np.float32)
        self.phone_steps = 0  # phone-steps rolled so far, burn-in included

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path | None = None,
        burn_in: int = 50,
        *,
        chunk: int = 512,
        workers: int | None = None,
    ) -> NumpyGenerator:
        """Read a SenseGen checkpoint without torch (default: the shipped HAPT one).

        Raises:
            CheckpointError: missing, corrupt or mismatched checkpoint (the torch loader's
                checks and messages).
        """
        path = SHIPPED_CHECKPOINT if path is None else Path(path)
        ckpt = load_checkpoint_arrays(path, CHECKPOINT_FORMAT, CHECKPOINT_KEYS, CHECKPOINT_WHAT)
        config = config_from_checkpoint(GeneratorConfig, ckpt, "config", path)
        check_entries(config, ckpt, path)
        normalizer = config_from_checkpoint(Normalizer, ckpt, "normalization", path)
        if not isinstance(ckpt["generator"], dict):
            raise CheckpointError("entry 'generator': expected a dict of weights", path=path)
        return cls(
            config,
            ckpt["generator"],
            normalizer,
            ckpt["activities"],
            burn_in,
            chunk=chunk,
            workers=workers,
            path=path,
        )

    @property
    def conditions_on_activity(self) -> bool:
        """True when the checkpoint was trained with activity conditions."""
        return self.config.n_conditions > 0

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """One fresh window per key (see the module docstring and :func:`keyed_windows`)."""
        return keyed_windows(
            seed,
            keys,
            steps,
            activities,
            config=self.config,
            names=self.activities,
            burn_in=self.burn_in,
            normalizer=self.normalizer,
            roll=self._roll,
        )

    def _roll(self, seed: int, keys: np.ndarray, cond: np.ndarray, total: int) -> np.ndarray:
        """Fresh streams of ``keys`` through ``total`` steps (normalised units).

        The rows (padded to at least :data:`BLOCK_ROWS`) are split into nearly equal chunks of
        at most ``chunk`` rows, and into at least one chunk per thread while each keeps
        :data:`BLOCK_ROWS` rows; chunks run in threads with BLAS on one thread each, and a
        lone chunk gets the threads through BLAS (which splits a product's columns).
        """
        n, d = len(keys), self.config.n_axes
        rows = max(n, BLOCK_ROWS)
        u, eps = key_draws(seed, keys, total, d, rows)
        cond = np.concatenate([cond, np.zeros(rows - n, np.int64)])
        padded = np.empty((rows, total, d), np.float32)
        threads = self._workers()
        n_chunks = max(-(-rows // self.chunk), min(threads, rows // BLOCK_ROWS))
        bounds = [rows * i // n_chunks for i in range(n_chunks + 1)]
        chunks = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        in_parallel = min(threads, n_chunks)

        def roll(r: slice) -> None:
            self._roll_chunk(cond[r], u[:, r], eps[:, r], padded[r])

        with threadpool_limits(limits=max(1, threads // in_parallel), user_api="blas"):
            if in_parallel > 1:
                with ThreadPoolExecutor(in_parallel) as pool:
                    list(pool.map(roll, chunks))
            else:
                for r in chunks:
                    roll(r)
        self.phone_steps += n * total
        return padded[:n]

    def _roll_chunk(
        self, cond: np.ndarray, u: np.ndarray, eps: np.ndarray, out: np.ndarray
    ) -> None:
        """Roll one chunk of fresh streams (condition ids ``cond``) through all its steps.

        The LSTM's state is held with the streams as columns (see :class:`_Layer`); the
        mixture head reads the top layer's output back as rows, in blocks of exactly
        :data:`BLOCK_ROWS`.
        """
        cfg = self.config
        n, hidden, d, k = len(cond), cfg.hidden_size, cfg.n_axes, cfg.n_components
        layers = self._layers
        start = self._start[:, :, cond if cfg.n_conditions else np.zeros_like(cond)]
        # xh[l] is layer l's product input, (inputs + hidden, n): its input, then its own h;
        # layer 0's input is the last sample x.
        xh = [np.empty((layer.weight.shape[1], n), np.float32) for layer in layers]
        c = [np.ascontiguousarray(start[1, i].T) for i in range(len(layers))]
        for i, buf in enumerate(xh):
            buf[buf.shape[0] - hidden :] = start[0, i].T
        xh[0][:d] = 0.0  # a fresh stream's first input
        bias0 = layers[0].bias + (self._condition_gates[:, cond] if cfg.n_conditions else 0.0)
        gates = np.empty((4 * hidden, n), np.float32)
        tanh_c = np.empty((hidden, n), np.float32)
        blocks = -(-n // BLOCK_ROWS)
        top = np.zeros((blocks, BLOCK_ROWS, hidden), np.float32)
        top_rows = top.reshape(-1, hidden)[:n]
        fc = np.empty((blocks, BLOCK_ROWS, self._fc_weight.shape[1]), np.float32)
        head = np.empty((blocks, BLOCK_ROWS, self._head_weight.shape[1]), np.float32)
        rows = np.arange(n)
        last = len(layers) - 1
        for t in range(out.shape[1]):
            for i, layer in enumerate(layers):
                np.matmul(layer.weight, xh[i], out=gates)
                gates += bias0 if i == 0 else layer.bias
                np.tanh(gates, out=gates)
                sig = gates[: 3 * hidden]
                sig *= 0.5
                sig += 0.5
                c[i] *= gates[hidden : 2 * hidden]  # f
                c[i] += gates[:hidden] * gates[3 * hidden :]  # i * g
                np.tanh(c[i], out=tanh_c)
                h = xh[i][xh[i].shape[0] - hidden :]
                np.multiply(gates[2 * hidden : 3 * hidden], tanh_c, out=h)  # o * tanh(c)
                if i < last:
                    xh[i + 1][:hidden] = h
            top_rows[...] = h.T
            np.matmul(top, self._fc_weight, out=fc)
            fc += self._fc_bias
            _sigmoid(fc)
            np.matmul(fc, self._head_weight, out=head)
            head += self._head_bias
            x = self._pick(head.reshape(-1, head.shape[-1])[:n], u[t], eps[t], rows, k, d)
            out[:, t] = x
            xh[0][:d] = x.T

    def _pick(
        self, head: np.ndarray, u: np.ndarray, eps: np.ndarray, rows: np.ndarray, k: int, d: int
    ) -> np.ndarray:
        """``SenseGenGenerator.pick`` on the head's raw outputs (logits, means, raw scales):
        the component whose cumulative softmax weight first exceeds ``u``, its mean plus its
        scale (``sigma_min + softplus``, capped at ``sigma_max``) times ``eps``."""
        logits = head[:, :k]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        idx = np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), k - 1)
        mu = head[:, k : k + k * d].reshape(-1, k, d)[rows, idx]
        raw = head[:, k + k * d :].reshape(-1, k, d)[rows, idx]
        sigma = np.minimum(self.config.sigma_min + np.logaddexp(0.0, raw), self.config.sigma_max)
        return (mu + sigma * eps).astype(np.float32)

    def _workers(self) -> int:
        """Threads that roll chunks at once: ``workers``, else ``$MCSIM_SENSOR_THREADS``,
        else every usable core (see ``generators.sensegen.THREADS_VARIABLE``)."""
        if self.workers is not None:
            return self.workers
        return threads_from_environment() or usable_cores()


def _gates(values: np.ndarray, hidden: int) -> np.ndarray:
    """Reorder torch's gate blocks (i, f, g, o) along the last axis to (i, f, o, g) and halve
    the sigmoid gates' (exact in float32: a power of two)."""
    i, f, g, o = (values[..., j * hidden : (j + 1) * hidden] for j in range(4))
    return np.ascontiguousarray(np.concatenate([i / 2, f / 2, o / 2, g], axis=-1), np.float32)


def _sigmoid(values: np.ndarray) -> None:
    """In place, through tanh (no overflow for large negative inputs)."""
    values *= 0.5
    np.tanh(values, out=values)
    values *= 0.5
    values += 0.5


def _check_shapes(config: GeneratorConfig, weights: dict[str, Any], path: Path | None) -> None:
    """The state dict holds every weight of the shape ``config`` builds.

    Raises:
        CheckpointError: naming the first unexpected, missing or misshapen weight.
    """
    d, hidden, k = config.n_axes, config.hidden_size, config.n_components
    expected: dict[str, tuple[int, ...]] = {
        "initial_state": (2, config.num_layers, max(config.condition_width, 1), hidden),
        "fc.weight": (config.fc_size, hidden),
        "fc.bias": (config.fc_size,),
        "head.weight": (k * (1 + 2 * d), config.fc_size),
        "head.bias": (k * (1 + 2 * d),),
    }
    for layer in range(config.num_layers):
        inputs = d + config.condition_width if layer == 0 else hidden
        expected |= {
            f"lstm.weight_ih_l{layer}": (4 * hidden, inputs),
            f"lstm.weight_hh_l{layer}": (4 * hidden, hidden),
            f"lstm.bias_ih_l{layer}": (4 * hidden,),
            f"lstm.bias_hh_l{layer}": (4 * hidden,),
        }
    problems = [f"unexpected weight {key!r}" for key in weights if key not in expected]
    for key, shape in expected.items():
        if key not in weights:
            problems.append(f"missing weight {key!r}")
        elif np.shape(weights[key]) != shape:
            problems.append(f"weight {key!r} has shape {np.shape(weights[key])}, expected {shape}")
    if problems:
        raise CheckpointError(
            f"generator weights do not match the stored config: {problems[0]}", path=path
        )
