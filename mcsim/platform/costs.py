"""What a day of crowdsensing costs: the incentives users are paid [USD] and their phones'
energy [J].

The paper's objective has two halves, minimum cost and maximum coverage (Wang et al. 2018,
Section 4.1), but it measures cost only by a proxy, tasks per recruited user, although its own
survey priced task bundles. This module turns an assignment into money and energy with
published figures, so that policies can be compared on what they would cost.

**Incentives** (:class:`PriceModel`). Wang et al.'s survey (Tables 1-2) asked what a person
wants to be paid for sensing along the way:

* one task: 11.10, 10.70 and 10.34 USD for its three kinds of task (Table 1). Our tasks have
  no kind (an accelerometer window at a place), so a single task is priced at their mean,
  10.713 USD. The survey's bundle prices below are consistent with that choice: three tasks
  cost 21.67 USD, 32.6 % below three single prices, the "about a third" the paper reports;
* a bundle of two tasks 16.625 USD, of three 21.67 USD (Table 2): marginal prices of 10.713,
  5.912 and 5.045 USD for the first, second and third task;
* past three tasks the survey says nothing. We hold the marginal price of the third task
  constant (each further task adds 5.045 USD): the marginal price still fell from the second
  task to the third, but a falling trend extrapolated linearly reaches zero at about nine
  tasks, i.e. people sensing for free, which no survey supports. A constant marginal price is
  the cautious choice: it never prices a large bundle below what the observed discounts
  imply, so it can only understate the savings of bundling (the paper's argument for MLP),
  never invent them;
* a task off the user's usual route costs a *special trip*: the survey's participants asked
  about 1.885 times the price of sensing on a route they travel anyway ("synchronous"
  sensing). A copy is synchronous when its location lies on one of the user's mined patterns
  (the user goes there repeatedly, so the platform can expect it on the way); otherwise the
  user is paid the special-trip factor for it. NA, which picks the nearest users whatever
  their patterns, pays it for most of its copies.

A recruited user with a bundle of n copies, s of them special trips, is paid
``P(n) / n * ((n - s) + 1.885 * s)``: the bundle's price split evenly over its copies, each
special trip at the factor. Users are paid for the bundle they accepted, completed or not
(the survey priced accepting a bundle; a platform that paid only for completed copies would
simply scale these figures by the completion ratio).

**Energy** (:class:`EnergyModel`). A reading keeps the accelerometer sampling at 50 Hz for the
window and then uploads the window (3 axes x float32 per sample) at once:

* sampling: 70 mW, the accelerometer's share of a Nokia N95's power measured by Ben Abdesslem,
  Phillips and Henderson ("Less is more: energy-efficient mobile sensing with SenseLess",
  MobiHeld 2009, Table 1: 96 mW with the accelerometer running continuously, 26 mW with every
  sensor off);
* upload over 3G: the energy model of Balasubramanian, Balasubramanian and Venkataramani
  ("Energy consumption in mobile phones: a measurement study and implications for network
  applications", IMC 2009): 3.5 J to ramp the radio up, 0.025 J per KB sent, then a tail of
  12.5 s at 0.62 W (7.75 J) before the radio drops back. For a 1.5 KB window the ramp and the
  tail are 99.7 % of the upload, and the upload about 98 % of the reading (11.47 J in all):
  what a reading costs a phone is the radio, not the sensor. Each reading is uploaded on its
  own, as soon as it is taken (readings of one user lie hours apart, so they would not share
  a tail anyway).

Both models are frozen dataclasses with these defaults; other figures (another survey, WiFi,
a newer phone) are a constructor call away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcsim.mining.patterns import PatternBase

#: [USD] Wang et al. 2018, Table 1: one task, for each of the survey's three kinds of task.
SURVEY_SINGLE_TASK_USD = (11.10, 10.70, 10.34)
#: [USD] One task priced as the mean over the kinds (our tasks have no kind).
SINGLE_TASK_USD = sum(SURVEY_SINGLE_TASK_USD) / len(SURVEY_SINGLE_TASK_USD)
#: [USD] Wang et al. 2018, Table 2: bundles of two and three tasks.
TWO_TASKS_USD = 16.625
THREE_TASKS_USD = 21.67
#: Price of a task on a special trip over the same task sensed on the user's way (survey).
SPECIAL_TRIP_FACTOR = 1.885


@dataclass(frozen=True)
class PriceModel:
    """Incentives from bundle prices: what a recruited user is paid for its bundle.

    Attributes:
        bundle_usd: [USD] price of a bundle of 1, 2, ... tasks (at least one entry);
            past the last entry each further task adds the last marginal price.
        special_trip_factor: price of a copy off the user's patterns over one on them.

    Example:
        >>> prices = PriceModel()
        >>> [round(float(p), 3) for p in prices.bundle_price(np.arange(5))]
        [0.0, 10.713, 16.625, 21.67, 26.715]
    """

    bundle_usd: tuple[float, ...] = (SINGLE_TASK_USD, TWO_TASKS_USD, THREE_TASKS_USD)
    special_trip_factor: float = SPECIAL_TRIP_FACTOR

    def __post_init__(self) -> None:
        prices = np.asarray(self.bundle_usd, dtype=np.float64)
        if prices.ndim != 1 or not len(prices):
            raise ValueError("bundle_usd needs the price of at least a one-task bundle")
        if not np.all(np.diff(np.concatenate(([0.0], prices))) > 0):
            raise ValueError(f"bundle prices must be positive and increasing, got {prices}")
        if not self.special_trip_factor >= 1.0:
            raise ValueError(f"special_trip_factor must be >= 1, got {self.special_trip_factor}")

    @property
    def last_marginal_usd(self) -> float:
        """[USD] What the last priced task adds to its bundle: the price of every further one."""
        prices = (0.0, *self.bundle_usd)
        return prices[-1] - prices[-2]

    def bundle_price(self, n: np.ndarray | int) -> np.ndarray:
        """[USD] Price of bundles of ``n`` tasks (0 for n = 0), the survey's past its table.

        Raises:
            ValueError: a negative bundle size.
        """
        n = np.asarray(n, dtype=np.int64)
        if np.any(n < 0):
            raise ValueError("bundle sizes must be >= 0")
        table = np.concatenate(([0.0], np.asarray(self.bundle_usd, dtype=np.float64)))
        known = len(table) - 1
        inside = table[np.minimum(n, known)]
        return inside + np.maximum(n - known, 0) * self.last_marginal_usd

    def user_incentives(
        self, user: np.ndarray, special: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(recruited users, [USD] incentive of each) for a day's assigned copies.

        Args:
            user: user code of each assigned copy.
            special: whether each copy is a special trip (off all of its user's patterns).
        """
        user = np.asarray(user)
        special = np.asarray(special, dtype=bool)
        if user.shape != special.shape:
            raise ValueError("user and special must have one entry per copy")
        users, inverse, size = np.unique(user, return_inverse=True, return_counts=True)
        trips = np.bincount(inverse, weights=special, minlength=len(users))
        per_copy = self.bundle_price(size) / np.maximum(size, 1)
        return users, per_copy * (size - trips + self.special_trip_factor * trips)

    def incentive(self, user: np.ndarray, special: np.ndarray) -> float:
        """[USD] Incentives of a day's assigned copies, summed over recruited users."""
        return float(self.user_incentives(user, special)[1].sum())


def special_trips(patterns: PatternBase, user: np.ndarray, location: np.ndarray) -> np.ndarray:
    """Whether each (user, location) copy is a special trip: its location lies on none of the
    user's mined patterns (a user code or location outside the base counts as off them)."""
    user = np.asarray(user, dtype=np.int64)
    location = np.asarray(location, dtype=np.int64)
    n_locations = max(len(patterns.locations), 1)
    holder = np.repeat(patterns.holder.astype(np.int64), patterns.lengths())
    on_route = np.unique(holder * n_locations + patterns.items)
    known = (location >= 0) & (location < n_locations)
    return ~(known & np.isin(user * n_locations + location, on_route))


@dataclass(frozen=True)
class EnergyModel:
    """Phone energy of a reading: sampling the accelerometer, then one upload over 3G.

    Attributes:
        accelerometer_w: [W] the accelerometer's draw while sampling (SenseLess, N95).
        sample_rate_hz: [Hz] sampling rate (the phones' 50 Hz,
            ``mcsim.sim.sensing.SAMPLE_RATE_HZ``; the core's layers keep the platform from
            importing the simulator, a test keeps the two equal).
        bytes_per_sample: [B] one 3-axis sample as uploaded (3 x float32).
        upload_ramp_j: [J] bringing the 3G radio up for a transfer (Balasubramanian 2009).
        upload_j_per_kb: [J/KB] sending, per KB (1,024 B).
        tail_w: [W] the radio's draw in its tail after the transfer.
        tail_s: [s] the tail's length.

    Example:
        >>> round(EnergyModel().reading_j(128), 2)  # a 2.56 s window
        11.47
    """

    accelerometer_w: float = 0.096 - 0.026
    sample_rate_hz: float = 50.0
    bytes_per_sample: int = 12
    upload_ramp_j: float = 3.5
    upload_j_per_kb: float = 0.025
    tail_w: float = 0.62
    tail_s: float = 12.5

    def __post_init__(self) -> None:
        for name in ("accelerometer_w", "upload_ramp_j", "upload_j_per_kb", "tail_w", "tail_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.sample_rate_hz > 0 or not self.bytes_per_sample > 0:
            raise ValueError("sample_rate_hz and bytes_per_sample must be positive")

    def sampling_j(self, steps: int) -> float:
        """[J] Sampling a window of ``steps`` samples."""
        return self.accelerometer_w * steps / self.sample_rate_hz

    def upload_j(self, steps: int) -> float:
        """[J] Uploading a window of ``steps`` samples on its own (ramp, transfer, tail)."""
        kb = steps * self.bytes_per_sample / 1024
        return self.upload_ramp_j + self.upload_j_per_kb * kb + self.tail_w * self.tail_s

    def reading_j(self, steps: int) -> float:
        """[J] One reading of ``steps`` samples: sampling plus its upload."""
        return self.sampling_j(steps) + self.upload_j(steps)


PRICES = PriceModel()
ENERGY = EnergyModel()
