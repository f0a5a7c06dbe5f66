"""Batched SenseGen sampling: fresh keyed windows, and phones' continuing streams.

Two ways to draw from a model, sharing one roll-out (:meth:`Sampler._roll`):

* :meth:`Sampler.windows`: one fresh stream per reading (learned start state, burn-in,
  window), with its random numbers from the reading's own key
  (``mcsim.sim.sensing.reading_rng``), so that a reading's window depends on nothing else and
  a day's readings, of several worlds at once, are rolled as one batch; nothing is kept. The
  simulator's float32 phones on the CPU draw the same windows without torch
  (``runtime.NumpyGenerator``, equal to rounding); this one serves bfloat16 and GPUs;
* :meth:`Sampler.reset` then :meth:`Sampler.sample`: streams that continue from one call to
  the next (each phone's LSTM state and last value kept), for long recordings
  (``mcsim sensegen sample``) and the evaluations.

Memory of the streams follows the phones that stream, not the population: a reset for 100,000
phones of which a few thousand are sampled holds nothing for the rest (a dense state, 3 layers
x 256 units, h and c, would hold 600 MB of zeros). State lives in a slot table (phone -> row),
grown geometrically as phones start.

Speed: the LSTM arithmetic is nearly all of the cost (about 2.7 MFLOP a phone-step; float32
runs near the core's peak, ~29,000 phone-steps per CPU-second on this project's machine).
A batch is split into nearly equal chunks of at most ``chunk`` phones, each rolled through a
block of steps on its own: oneDNN's LSTM runs about a quarter slower per phone-step on several
thousand rows than on a few hundred, whose state and weights stay in cache. Chunks can run in
parallel threads (torch releases the GIL in its kernels) rather than two OpenMP threads per
kernel, which wait on each other at every one of a step's ~20 kernels and, on a busy 2-core
machine, made a roll-out many times slower. The random numbers of a block are drawn first,
step by step exactly as ``SenseGenGenerator.sample_next`` draws them for the whole batch, so
neither chunks nor threads change a draw.

``precision="bf16"`` runs the LSTM under bfloat16 autocast (the mixture head and the draws stay
float32): 1.75x the phone-steps per CPU-second on a CPU with avx512_bf16. Its streams differ
from float32's sample by sample but not in distribution: over 1,024 windows of 128 samples per
activity, the Kolmogorov-Smirnov distances between float32 and bfloat16 per-window std, mean
and lag-1 autocorrelation (0.004-0.025) are no larger than between two float32 seeds
(0.013-0.030), and ``evaluate.py``'s discriminators score bfloat16 walking within the spread of
float32 seeds (0.83 against 0.73-0.85). Float32 stays the default: it changes every array, and oneDNN
runs a bfloat16 LSTM only on a CPU with AVX-512 (on an AMD EPYC with AVX2 alone it fails with
"could not create a primitive descriptor"), so a bfloat16 sampler first runs a one-unit LSTM
(:func:`check_precision`) and refuses to start where that fails.

Streams' randomness comes from one ``torch.Generator`` seeded in :meth:`Sampler.reset`: the
same seed and the same sequence of calls give identical arrays, and splitting a roll-out into
several calls (e.g. 2 × 200 steps instead of 400) consumes the generator identically.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, threads_from_environment
from generators.sensegen.config import Normalizer
from generators.sensegen.model import (
    LSTMState,
    SenseGenGenerator,
    config_from_checkpoint,
    generator_from_checkpoint,
    load_checkpoint,
)
from generators.sensegen.runtime import (
    BLOCK_ROWS,
    DRAWS_PER_BLOCK,
    check_steps,
    key_draws,
    keyed_windows,
    stream_conditions,
)
from mcsim.data.outputs import atomic_file
from mcsim.errors import InputError
from mcsim.processes import usable_cores

Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16")


def check_precision(precision: str, device: str | torch.device = "cpu") -> None:
    """Raises InputError unless ``precision`` is one of :data:`PRECISIONS` that ``device``
    runs. Why a probe: whether oneDNN has a bfloat16 LSTM depends on the CPU (see the module
    docstring), and a run should stop before its first job, not at its first reading.
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return
    device = torch.device(device)
    probe = torch.nn.LSTM(1, 1).to(device)
    try:
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
            probe(torch.zeros(1, 1, 1, device=device))
    except RuntimeError as exc:
        reason = str(exc).split(". ")[0].strip() or type(exc).__name__
        raise InputError(
            f"precision 'bf16' does not run on this {device.type}: its bfloat16 LSTM fails "
            f"({reason}); on a CPU it needs AVX-512 (fast with avx512_bf16 or amx_bf16). "
            "Use float32 (sensor sensegen or sensegen-small)"
        ) from None


_NOT_STARTED = -1  # condition id of a slot whose stream has not started yet
Draws = Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]


class _Streams:
    """The slot table: the state of every phone that has streamed since the reset.

    Row ``slot[p]`` of ``h``, ``c`` (num_layers, capacity, hidden), ``last`` (capacity, d) and
    ``cond`` (capacity,) belongs to phone ``p``; rows are handed out in order of first use and
    the tensors double when full, so memory follows the streaming phones.
    """

    def __init__(self, layers: int, hidden: int, axes: int, device: torch.device) -> None:
        self.slot: dict[int, int] = {}
        self.h = torch.zeros((layers, 0, hidden), device=device)
        self.c = torch.zeros((layers, 0, hidden), device=device)
        self.last = torch.zeros((0, axes), device=device)
        self.cond = torch.zeros((0,), dtype=torch.long, device=device)

    def rows(self, phones: np.ndarray) -> torch.Tensor:
        """Slots of ``phones``, giving each phone that has none a not-yet-started one."""
        slot = self.slot
        for phone in phones.tolist():
            if phone not in slot:
                slot[phone] = len(slot)
        self._reserve(len(slot))
        rows = [slot[phone] for phone in phones.tolist()]
        return torch.as_tensor(rows, dtype=torch.long, device=self.last.device)

    def _reserve(self, need: int) -> None:
        capacity = self.last.shape[0]
        if need <= capacity:
            return
        grown = max(need, 2 * capacity, 64)

        def grow(t: torch.Tensor, dim: int, fill: float) -> torch.Tensor:
            shape = list(t.shape)
            shape[dim] = grown - capacity
            return torch.cat([t, t.new_full(shape, fill)], dim=dim)

        self.h, self.c = grow(self.h, 1, 0.0), grow(self.c, 1, 0.0)
        self.last = grow(self.last, 0, 0.0)
        self.cond = grow(self.cond, 0, _NOT_STARTED)


class Sampler:
    """Stateful batched sampler over ``n_phones`` independent accelerometer streams.

    Args:
        model: a trained generator (put in eval mode).
        normalizer: the training statistics, to return physical units [g].
        activities: activity names by condition id (index 0 = none / unlabelled).
        device: where the LSTM runs.
        burn_in: steps a stream runs from a zero state when it (re)starts, before its output
            is used, so that streams start in the model's steady state [samples].
        chunk: phones rolled together at most; larger batches are split into nearly equal
            chunks, each rolled through a block of steps on its own (the same draws) [phones].
        workers: threads rolling chunks at once (None: ``$MCSIM_SENSOR_THREADS`` if set,
            else every usable core, when torch runs single-threaded; else 1). The arrays do
            not depend on it.
        precision: ``"fp32"``, or ``"bf16"`` to run the LSTM's arithmetic in bfloat16 (the
            mixture head and the sampling stay in float32).

    Example:
        >>> sampler = Sampler.from_checkpoint()  # doctest: +SKIP
        >>> sampler.reset(n_phones=1000, seed=7)  # doctest: +SKIP
        >>> sampler.sample(np.arange(10), steps=400).shape  # doctest: +SKIP
        (10, 400, 3)
    """

    def __init__(
        self,
        model: SenseGenGenerator,
        normalizer: Normalizer,
        activities: list[str],
        device: str | torch.device = "cpu",
        burn_in: int = 50,
        *,
        chunk: int = 512,
        workers: int | None = None,
        precision: Precision = "fp32",
    ) -> None:
        if chunk < 1:
            raise InputError(f"chunk must be >= 1, got {chunk}")
        if workers is not None and workers < 1:
            raise InputError(f"workers must be >= 1, got {workers}")
        check_precision(precision, device)
        if workers is None:
            threads_from_environment()  # a bad value fails here, before any job samples
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.normalizer = normalizer
        self.activities = list(activities)
        self.burn_in = burn_in
        self.chunk = chunk
        self.workers = workers
        self.precision: Precision = precision
        self._n_phones = 0
        self.phone_steps = 0  # phone-steps rolled since the reset, burn-in included
        self._streams: _Streams | None = None
        self._rng: torch.Generator | None = None

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path | None = None,
        device: str | torch.device = "cpu",
        burn_in: int = 50,
        *,
        chunk: int = 512,
        workers: int | None = None,
        precision: Precision = "fp32",
    ) -> Sampler:
        """Build a sampler from a checkpoint (default: the shipped HAPT one).

        Raises:
            CheckpointError: missing, corrupt or mismatched checkpoint.
        """
        path = SHIPPED_CHECKPOINT if path is None else Path(path)
        ckpt = load_checkpoint(path)
        model = generator_from_checkpoint(ckpt, path)
        normalizer = config_from_checkpoint(Normalizer, ckpt, "normalization", path)
        return cls(
            model,
            normalizer,
            ckpt["activities"],
            device,
            burn_in,
            chunk=chunk,
            workers=workers,
            precision=precision,
        )

    @property
    def n_phones(self) -> int:
        """Number of streams since the last :meth:`reset` (0 before)."""
        return self._n_phones

    @property
    def conditions_on_activity(self) -> bool:
        """True when the checkpoint was trained with activity conditions."""
        return self.model.config.n_conditions > 0

    @property
    def n_streaming(self) -> int:
        """Phones holding a stream's state (those sampled since the last :meth:`reset`)."""
        return 0 if self._streams is None else len(self._streams.slot)

    @property
    def state_bytes(self) -> int:
        """Bytes held by the streams' state (slot table), all phones together."""
        streams = self._streams
        if streams is None:
            return 0
        tensors = (streams.h, streams.c, streams.last, streams.cond)
        return sum(t.numel() * t.element_size() for t in tensors)

    def state_of(self, phone: int) -> LSTMState | None:
        """A copy of phone ``phone``'s LSTM state (h, c), each (num_layers, hidden); None
        before its stream has started."""
        streams = self._streams
        if streams is None or phone not in streams.slot:
            return None
        row = streams.slot[phone]
        return streams.h[:, row].clone(), streams.c[:, row].clone()

    def activity_id(self, name: str) -> int:
        """Condition id of a HAPT activity name (case-insensitive, e.g. ``"walking"``).

        Raises:
            InputError: unknown name or a model without activity conditioning.
        """
        if self.model.config.n_conditions == 0:
            raise InputError("this checkpoint has no activity conditioning")
        valid = self.activities[1:]
        key = name.strip().upper()
        if key not in valid:
            raise InputError(f"unknown activity {name!r}; valid: {', '.join(valid)}")
        return valid.index(key) + 1

    def reset(self, n_phones: int, seed: int) -> None:
        """Prepare ``n_phones`` streams; all later randomness derives from ``seed``.

        No stream is started here, and nothing is held per phone: each starts at its first
        :meth:`sample`, so a day with 100,000 phones of which a few thousand ever sense costs
        only those few thousand burn-ins and states.
        """
        if n_phones < 0:
            raise InputError(f"n_phones must be >= 0, got {n_phones}")
        cfg = self.model.config
        self._rng = torch.Generator(device=self.device).manual_seed(int(seed))
        self._n_phones = n_phones
        self.phone_steps = 0
        self._streams = _Streams(cfg.num_layers, cfg.hidden_size, cfg.n_axes, self.device)

    def sample(
        self,
        phones: np.ndarray | None,
        steps: int,
        activities: np.ndarray | None = None,
    ) -> np.ndarray:
        """Continue the listed phones' streams by ``steps`` samples.

        A phone's stream starts (fresh LSTM state, then ``burn_in`` discarded steps under its
        activity) at its first call, and starts afresh whenever its activity changes. Why:
        the generator learnt each activity from fresh states inside one labelled segment
        (``data.Streams``), so a new activity is a new segment, and a stream that merely
        switched its condition would keep following its own history. Without activities
        (the paper's unconditioned model) a stream never restarts.

        Args:
            phones: distinct phone indices in [0, n_phones), shape (n,); None = all phones.
            steps: samples to draw per phone (50 Hz).
            activities: per-phone condition ids, shape (n,), 0 = none (the paper's
                unconditioned model), 1.. = HAPT activity ids; None = none for all. With a
                styled checkpoint each phone streams in its person's style
                (``runtime.person_styles``).

        Returns:
            float32 array (n, steps, 3) of body acceleration [g].

        Raises:
            InputError: not reset, bad indices, shapes or activity ids.
        """
        streams = self._started()
        idx = self._indices(phones)
        check_steps(steps)
        cond = self._conditions(activities, idx)
        if len(idx) == 0 or steps == 0:
            return np.zeros((len(idx), int(steps), self.model.config.n_axes), np.float32)
        with torch.inference_mode():
            rows = streams.rows(idx)
            fresh = streams.cond[rows] != cond
            if bool(fresh.any()):
                self._start(rows[fresh], cond[fresh])
            state = (streams.h[:, rows], streams.c[:, rows])
            out, state = self._roll(
                streams.last[rows], int(steps), cond, state, self._stream_draws(len(idx))
            )
            self.phone_steps += len(idx) * int(steps)
            streams.h[:, rows], streams.c[:, rows] = state
            streams.last[rows] = out[:, -1]
            values = out.float().cpu().numpy()
        return self.normalizer.denormalize(values)

    def _start(self, rows: torch.Tensor, cond: torch.Tensor) -> None:
        """Start the streams in slots ``rows`` afresh under ``cond``: the model's learned start
        state and a zero input, then ``burn_in`` discarded steps."""
        streams = self._started()
        h, c = self.model.start_state(cond, len(rows))
        start = torch.zeros((len(rows), self.model.config.n_axes), device=self.device)
        if self.burn_in:
            draws = self._stream_draws(len(rows))
            out, (h, c) = self._roll(start, self.burn_in, cond, (h, c), draws)
            self.phone_steps += len(rows) * self.burn_in
            start = out[:, -1]
        streams.h[:, rows], streams.c[:, rows] = h, c
        streams.last[rows] = start
        streams.cond[rows] = cond

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """One fresh window per key: the learned start state of its activity, ``burn_in``
        discarded steps, then ``steps`` samples, all drawn from
        ``mcsim.sim.sensing.reading_rng(seed, key)``. A row's samples depend only on its
        seed, key and activity, not on the other rows (the arithmetic of a row is the same in
        any batch of at least :data:`BLOCK_ROWS` rows, and smaller batches are padded to it).
        Holds no state and does not touch the streams of :meth:`sample`.

        Args:
            seed: the day's sensor seed.
            keys: (n, k) non-negative integer keys.
            steps: samples per window (50 Hz).
            activities: per-window condition ids (n,), 0 = none; None = none for all.

        Returns:
            float32 array (n, steps, 3) of body acceleration [g].

        Raises:
            InputError: bad shapes, steps or activity ids.
        """
        return keyed_windows(
            seed,
            keys,
            steps,
            activities,
            config=self.model.config,
            names=self.activities,
            burn_in=self.burn_in,
            normalizer=self.normalizer,
            roll=self._fresh_windows,
        )

    def _fresh_windows(
        self, seed: int, keys: np.ndarray, ids: np.ndarray, total: int
    ) -> np.ndarray:
        """Roll fresh streams of ``keys`` (condition ids ``ids``) through ``total`` steps
        (normalised units)."""
        n, d = len(keys), self.model.config.n_axes
        padded = max(n, BLOCK_ROWS)
        u, eps = key_draws(seed, keys, total, d, padded)
        cond = torch.as_tensor(np.concatenate([ids, np.zeros(padded - n, np.int64)]),
                               device=self.device)  # fmt: skip
        draws_u = torch.from_numpy(u).to(self.device)
        draws_eps = torch.from_numpy(eps).to(self.device)

        def draws(t0: int, t1: int) -> tuple[torch.Tensor, torch.Tensor]:
            return draws_u[t0:t1], draws_eps[t0:t1]

        with torch.inference_mode():
            state = self.model.start_state(cond, padded)
            start = torch.zeros((padded, d), device=self.device)
            out, _ = self._roll(start, total, cond, state, draws, block=total)
        self.phone_steps += n * total
        return out[:n].float().cpu().numpy()

    def _stream_draws(self, n: int) -> Draws:
        """The draws of ``n`` streams from the generator of :meth:`reset`, step by step
        exactly as ``SenseGenGenerator.sample_next`` draws them for the whole batch."""
        rng = self._started_rng()
        d = self.model.config.n_axes

        def draws(t0: int, t1: int) -> tuple[torch.Tensor, torch.Tensor]:
            u = torch.empty((t1 - t0, n, 1), device=self.device)
            eps = torch.empty((t1 - t0, n, d), device=self.device)
            for t in range(t1 - t0):
                u[t] = torch.rand((n, 1), generator=rng, device=self.device)
                eps[t] = torch.randn((n, d), generator=rng, device=self.device)
            return u, eps

        return draws

    def _roll(
        self,
        x0: torch.Tensor,
        steps: int,
        cond: torch.Tensor,
        state: LSTMState,
        draws: Draws,
        block: int | None = None,
    ) -> tuple[torch.Tensor, LSTMState]:
        """``SenseGenGenerator.generate`` in chunks of rows, from ``draws(t0, t1)``: the
        uniforms (t1 - t0, n, 1) and normals (t1 - t0, n, d) of steps t0..t1, asked for in
        blocks of ``block`` steps (default: as many as ``DRAWS_PER_BLOCK`` allows).

        Args:
            x0: (n, d) each stream's last value; steps: >= 1 new values per stream.
            cond: (n,) condition ids; state: (h, c), each (num_layers, n, hidden).

        Returns:
            The (n, steps, d) samples and the final state.
        """
        n, d = x0.shape
        h, c = state[0].contiguous(), state[1].contiguous()
        out = x0.new_empty((n, steps, d))
        x = x0.clone()
        onehot = self.model.condition(cond, (n, 1))
        n_chunks = -(-n // self.chunk)
        bounds = [n * i // n_chunks for i in range(n_chunks + 1)]  # nearly equal chunks
        chunks = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        workers = min(self._workers(), n_chunks)
        if block is None:
            block = max(1, min(steps, DRAWS_PER_BLOCK // n))
        with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            for t0 in range(0, steps, block):
                t1 = min(steps, t0 + block)
                u, eps = draws(t0, t1)
                roll = partial(self._roll_chunk, x, h, c, onehot, u, eps, out, t0)
                if pool is None:
                    for r in chunks:
                        roll(r)
                else:
                    list(pool.map(roll, chunks))
        return out, (h, c)

    def _roll_chunk(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        onehot: torch.Tensor | None,
        u: torch.Tensor,
        eps: torch.Tensor,
        out: torch.Tensor,
        t0: int,
        r: slice,
    ) -> None:
        """Roll rows ``r`` through the block of steps ``t0 .. t0 + len(u)`` with the drawn
        ``u``, ``eps``, updating ``x``, ``h``, ``c`` and ``out`` in place (rows ``r`` only, so
        chunks may run in parallel threads; torch releases the GIL in its kernels)."""
        model = self.model
        with torch.inference_mode(), self._lstm_context():  # both are per thread
            s = (h[:, r].contiguous(), c[:, r].contiguous())
            xr = x[r]
            oh = None if onehot is None else onehot[r]
            for t in range(len(u)):
                inp = xr[:, None, :] if oh is None else torch.cat([xr[:, None, :], oh], -1)
                hs, s = model.lstm(inp, s)
                with torch.autocast(self.device.type, enabled=False):
                    params = model.mixture(hs[:, 0].float())
                    xr = model.pick(params, u[t, r], eps[t, r])
                out[r, t0 + t] = xr
            x[r] = xr
            h[:, r], c[:, r] = s[0].float(), s[1].float()

    def _workers(self) -> int:
        """Threads that roll chunks at once: ``workers``, or by default, when torch runs
        single-threaded, ``$MCSIM_SENSOR_THREADS`` or every usable core (when torch runs its
        own threads, one: each kernel is parallel already).

        Why the variable: a process that shares the machine with others like it (a runner
        worker, a Ray task holding one CPU) must not roll on every core, or N workers run N
        times as many threads as there are cores; the runner sets it to its share.

        Raises:
            InputError: the variable is set to something other than a positive integer.
        """
        if self.workers is not None:
            return self.workers
        if torch.get_num_threads() > 1:
            return 1
        return threads_from_environment() or usable_cores()

    def _lstm_context(self) -> torch.autocast | nullcontext[None]:
        """Where the LSTM step runs: bfloat16 autocast for ``precision="bf16"``."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def _started(self) -> _Streams:
        """The slot table set by :meth:`reset`.

        Raises:
            InputError: :meth:`reset` was not called.
        """
        if self._streams is None:
            raise InputError("call reset(n_phones, seed) before sample()")
        return self._streams

    def _started_rng(self) -> torch.Generator:
        if self._rng is None:
            raise InputError("call reset(n_phones, seed) before sample()")
        return self._rng

    def _indices(self, phones: np.ndarray | None) -> np.ndarray:
        if phones is None:
            return np.arange(self.n_phones)
        arr = np.asarray(phones)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise InputError(
                f"phones must be a 1-D integer array, got shape {arr.shape} of {arr.dtype}"
            )
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_phones):
            raise InputError(f"phone indices must lie in [0, {self.n_phones})")
        if len(np.unique(arr)) != len(arr):
            raise InputError("phone indices must be distinct (each phone has one stream)")
        return arr.astype(np.int64)

    def _conditions(self, activities: np.ndarray | None, phones: np.ndarray) -> torch.Tensor:
        """Validated condition ids of ``phones``' streams as a tensor (zeros, "none", when
        ``activities`` is None), each phone in its person's style when the model has styles."""
        cond = stream_conditions(activities, phones, self.model.config, self.activities)
        return torch.as_tensor(cond, device=self.device)


def sample_to_file(
    out: str | Path,
    n: int,
    steps: int,
    seed: int,
    activity: str | None = None,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Draw ``n`` streams of ``steps`` samples and write them atomically as float32 ``.npy``.

    Returns:
        The (n, steps, 3) array in g at 50 Hz that was written.
    """
    if n < 1 or steps < 1:
        raise InputError(f"--n and --steps must be >= 1, got {n} and {steps}")
    sampler = Sampler.from_checkpoint(checkpoint, device=device)
    ids = None
    if activity is not None:
        ids = np.full(n, sampler.activity_id(activity), dtype=np.int64)
    sampler.reset(n, seed)
    data = sampler.sample(None, steps, ids)
    with atomic_file(out) as tmp, tmp.open("wb") as fh:
        np.save(fh, data)
    return data
