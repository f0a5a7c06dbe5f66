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
needs every matrix product to sum a stream the same way whatever else is in the product,
which OpenBLAS does not promise: its kernel, and so the order of the sums, depends on the
product's shape, on its thread count and on the CPU. Measured with float32, one thread, the
streams as columns: on an Intel AVX-512 CPU (OpenBLAS's SkylakeX kernels) a stream agreed in
9 to 1,200-column products at any position, not in 2-8; on an AMD EPYC with AVX2 (Haswell
kernels) it agrees across positions only in products of 8 or 16 columns (in 24 to 512 the
first and last eight columns sum in another order than the middle ones), products with the
streams as rows agree in none, and a second BLAS thread changes the sums again. So every
product, the LSTM's and the mixture head's alike, takes exactly :data:`BLOCK_ROWS` streams as
its columns (a batch is padded to whole blocks, held as a stack of blocks, one product call
per stack), and BLAS runs on one thread; the threads split the blocks instead. The tests
check a row alone, in batches, chunks and thread counts, bit for bit, on the CPU they run on.

Rows are rolled in nearly equal chunks of whole blocks, at most ``chunk`` rows each (a few
hundred rows keep a layer's weights and state in cache), at least one per thread while the
blocks last; chunks run in ``workers`` threads (numpy releases the GIL in its kernels). So N
runner workers, each told its share of the cores (``$MCSIM_SENSOR_THREADS``), never run more
threads than cores.
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

#: Streams in every matrix product: a roll pads its rows to whole blocks of this many (see the
#: module docstring).
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
class _Affine:
    """``weight @ x + bias`` on streams held as columns, one product per block of streams.

    An LSTM layer is one: ``weight @ [input; h] + bias`` gives the gates in the order (i, f,
    o, g), the rows of i, f and o halved (sigmoid(z) = 0.5 tanh(z / 2) + 0.5), so that one
    ``tanh`` serves all four gates; the mixture head is two (FC, then the mixture's outputs).
    Why the weights on the left: with the streams as the product's columns, OpenBLAS runs a
    few dozen streams 1.3-1.7x faster (measured on the AVX-512 CPU: 76 against 58 GFLOP/s for
    24 streams), and only that way does a stream sum alike at every position of a block
    (module docstring)."""

    weight: np.ndarray  # (outputs, inputs): an LSTM layer's (4 hidden, inputs + hidden)
    bias: np.ndarray  # (outputs, 1)


class NumpyGenerator:
    """A trained SenseGen generator's keyed windows, in numpy.

    Args:
        config: the generator's shape (from the checkpoint).
        weights: the torch state dict as numpy arrays (``lstm.weight_ih_l0`` ...).
        normalizer: the training statistics, to return physical units [g].
        activities: activity names by condition id (index 0 = none).
        burn_in: discarded steps of every fresh stream before its window [samples].
        chunk: rows rolled together at most, at least :data:`BLOCK_ROWS`; a chunk holds whole
            blocks [rows].
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
        if chunk < BLOCK_ROWS:
            raise InputError(f"chunk must be >= {BLOCK_ROWS} rows, got {chunk}")
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
        self._layers: list[_Affine] = []
        for layer in range(config.num_layers):
            w_ih = weights[f"lstm.weight_ih_l{layer}"]
            inputs = w_ih[:, :d] if layer == 0 else w_ih  # layer 0: the condition goes below
            stacked = np.concatenate([inputs, weights[f"lstm.weight_hh_l{layer}"]], axis=1)
            bias = weights[f"lstm.bias_ih_l{layer}"] + weights[f"lstm.bias_hh_l{layer}"]
            gates_weight = np.ascontiguousarray(_gates(stacked.T, hidden).T)
            self._layers.append(_Affine(gates_weight, _gates(bias, hidden)[:, None]))
        # The one-hot condition's share of layer 0's gates, one column per condition id.
        self._condition_gates = np.ascontiguousarray(
            _gates(weights["lstm.weight_ih_l0"][:, d:].T, hidden).T
        )
        self._start = np.asarray(weights["initial_state"], np.float32)
        self._fc = _Affine(
            np.ascontiguousarray(weights["fc.weight"], np.float32),
            np.asarray(weights["fc.bias"], np.float32)[:, None],
        )
        self._head = _Affine(
            np.ascontiguousarray(weights["head.weight"], np.float32),
            np.asarray(weights["head.bias"], np.float32)[:, None],
        )
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

        The rows, padded to whole blocks of :data:`BLOCK_ROWS`, are split into nearly equal
        chunks of whole blocks, at most ``chunk`` rows each and at least one per thread while
        the blocks last; chunks run in threads, BLAS on one thread (module docstring).
        """
        n, d = len(keys), self.config.n_axes
        blocks = max(1, -(-n // BLOCK_ROWS))
        rows = blocks * BLOCK_ROWS
        u, eps = key_draws(seed, keys, total, d, rows)
        cond = np.concatenate([cond, np.zeros(rows - n, np.int64)])
        padded = np.empty((rows, total, d), np.float32)
        threads = self._workers()
        n_chunks = max(-(-blocks // (self.chunk // BLOCK_ROWS)), min(threads, blocks))
        bounds = [BLOCK_ROWS * (blocks * i // n_chunks) for i in range(n_chunks + 1)]
        chunks = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        in_parallel = min(threads, n_chunks)

        def roll(r: slice) -> None:
            self._roll_chunk(cond[r], u[:, r], eps[:, r], padded[r])

        with threadpool_limits(limits=1, user_api="blas"):
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
        """Roll one chunk of fresh streams (condition ids ``cond``, whole blocks of
        :data:`BLOCK_ROWS`) through all its steps.

        Every state is a stack of blocks, (blocks, features, :data:`BLOCK_ROWS`), the streams
        as columns, so that each product is ``weight @ stack``: one call, one product of the
        same shape per block (see the module docstring).
        """
        cfg = self.config
        n, hidden, d, k = len(cond), cfg.hidden_size, cfg.n_axes, cfg.n_components
        blocks = n // BLOCK_ROWS
        layers = self._layers
        start = self._start[:, :, cond if cfg.n_conditions else np.zeros_like(cond)]
        # xh[l] is layer l's product input, (blocks, inputs + hidden, BLOCK_ROWS): its input,
        # then its own h; layer 0's input is the last sample x.
        xh = [np.empty((blocks, layer.weight.shape[1], BLOCK_ROWS), np.float32) for layer in layers]
        c = [np.ascontiguousarray(_stacked(start[1, i])) for i in range(len(layers))]
        for i, buf in enumerate(xh):
            buf[:, buf.shape[1] - hidden :] = _stacked(start[0, i])
        xh[0][:, :d] = 0.0  # a fresh stream's first input
        bias0 = layers[0].bias
        if cfg.n_conditions:
            bias0 = bias0 + _stacked(self._condition_gates[:, cond].T)
        gates = np.empty((blocks, 4 * hidden, BLOCK_ROWS), np.float32)
        tanh_c = np.empty((blocks, hidden, BLOCK_ROWS), np.float32)
        fc = np.empty((blocks, self._fc.weight.shape[0], BLOCK_ROWS), np.float32)
        head = np.empty((blocks, self._head.weight.shape[0], BLOCK_ROWS), np.float32)
        rows = np.arange(n)
        last = len(layers) - 1
        for t in range(out.shape[1]):
            for i, layer in enumerate(layers):
                np.matmul(layer.weight, xh[i], out=gates)
                gates += bias0 if i == 0 else layer.bias
                np.tanh(gates, out=gates)
                sig = gates[:, : 3 * hidden]
                sig *= 0.5
                sig += 0.5
                c[i] *= gates[:, hidden : 2 * hidden]  # f
                c[i] += gates[:, :hidden] * gates[:, 3 * hidden :]  # i * g
                np.tanh(c[i], out=tanh_c)
                h = xh[i][:, xh[i].shape[1] - hidden :]
                np.multiply(gates[:, 2 * hidden : 3 * hidden], tanh_c, out=h)  # o * tanh(c)
                if i < last:
                    xh[i + 1][:, :hidden] = h
            np.matmul(self._fc.weight, h, out=fc)
            fc += self._fc.bias
            _sigmoid(fc)
            np.matmul(self._head.weight, fc, out=head)
            head += self._head.bias
            x = self._pick(head.transpose(0, 2, 1).reshape(n, -1), u[t], eps[t], rows, k, d)
            out[:, t] = x
            xh[0][:, :d] = _stacked(x)

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


def _stacked(rows: np.ndarray) -> np.ndarray:
    """(n, features) rows as a stack of blocks, (n / BLOCK_ROWS, features, BLOCK_ROWS): a
    view, not a copy."""
    n, features = rows.shape
    return rows.reshape(n // BLOCK_ROWS, BLOCK_ROWS, features).swapaxes(1, 2)


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
