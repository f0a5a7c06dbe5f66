"""SenseGen (Alzantot et al., 2017): an LSTM mixture-density generator of 50 Hz accelerometer
streams, trained on HAPT with the paper's Algorithm 1.

Modules: ``model`` (networks, checkpoints), ``config`` (the settings and statistics a
checkpoint stores), ``data`` (HAPT loading and batches), ``train`` (schedule, resume, curves),
``sample`` (batched streaming and keyed windows in torch), ``runtime`` (the simulator's keyed
windows in numpy, without torch), ``evaluate`` (metrics on held-out users) and ``cli``
(``mcsim sensegen train | sample | eval``). Most callers need only
``generators.sensors.load_sensor`` or ``generators.sensegen.sample.Sampler``.
"""

import os

from generators import shipped_checkpoint
from mcsim.errors import InputError

#: The checkpoint trained on HAPT users 1-20 that ships with the package, with a style per
#: training user (``GeneratorConfig.n_styles``): each simulated person streams in one gait.
SHIPPED_CHECKPOINT = shipped_checkpoint("sensegen_hapt.pt")

#: The same recipe and data at half the width (3 x LSTM 128): about a quarter of the paper
#: model's arithmetic per phone-step, for runs whose phones are counted in hundreds of
#: thousands (``sensor: sensegen-small``; its record is in ``checkpoints/README.md``).
SMALL_CHECKPOINT = shipped_checkpoint("sensegen_hapt_small.pt")

#: Environment variable: the threads a sampler rolls phones in when torch runs single-threaded
#: (default: every usable core). Processes that share a machine (runner workers, Ray tasks)
#: set it to their share of the cores. Here, not in ``sample``, so setting it needs no torch.
THREADS_VARIABLE = "MCSIM_SENSOR_THREADS"


def threads_from_environment() -> int | None:
    """``$MCSIM_SENSOR_THREADS`` as a number of threads, or None when it is not set.

    Raises:
        InputError: it is set to something other than a positive integer.
    """
    given = os.environ.get(THREADS_VARIABLE)
    if given is None:
        return None
    if not given.strip().isdigit() or int(given) < 1:
        raise InputError(f"{THREADS_VARIABLE} must be a positive integer (threads), got {given!r}")
    return int(given)
