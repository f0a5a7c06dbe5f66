"""Synthetic campus/city mobility with daily routines.

Why it exists: the paper's experiments run on the UCSD WTD AP trace (68 users, 124 APs) and on an
extension with virtual users (168 users, 284 APs); neither ships with mcsim, and scale tests need
100,000 users. This package produces traces of that kind without any data:

* :func:`generate_campus` lays out buildings of several kinds (residences, lecture halls,
  library, dining, sports, offices, social places) with several access points (APs) each, around
  a reference point, and gives every user a *routine*: a home AP, a timetable of courses (students)
  or office hours (staff), favourite dining halls, library, sports place and social places, and
  personal rates (how often the device is on, how often the user studies, exercises, goes out).
* :meth:`SyntheticCampus.visits` draws days from those routines: visits with arrival and departure
  (nights at home included), day-to-day variation, quieter weekends, inactive days, occasional and
  very active users (so N(u) is heavy-tailed), plus the short sightings by APs passed on the
  way between buildings, as in a WiFi AP log (``passby_radius_m``). :func:`to_ap_log` turns
  visits into the WTD form of one sighting per ~20 s.

Virtual users added to a real trace come from one mechanism, the trace's pattern model
(:func:`mcsim.sim.scale_population`, a scenario's ``mobility.users``), not from this package.

Randomness is *counter-based*: every random number is a SplitMix64 hash of (seed, user, day,
variate index), so user u's day d is the same whatever the population size, the chunking or the
order of generation. The simulator can therefore draw held-out "ground-truth" days of any user
lazily (:meth:`SyntheticCampus.day`) without generating anyone else. The hash is vectorised over
users x days x variates, which is what makes 100,000 users x 30 days take seconds.

The package re-exports the public API; each module has one job, in the order data flows:

* :mod:`~generators.mobility.config`: :class:`CampusConfig`, its presets and the model's fixed
  constants;
* :mod:`~generators.mobility.rng`: the counter-based random numbers;
* :mod:`~generators.mobility.layout`: buildings, APs and the lecture timetable
  (:class:`CampusLayout`);
* :mod:`~generators.mobility.routines`: every user's routine (:class:`Routines`);
* :mod:`~generators.mobility.activities`: a day's out-of-home activities;
* :mod:`~generators.mobility.days`: days as visits, with the home stays around the activities;
* :mod:`~generators.mobility.passby`: the APs passed on the way between buildings;
* :mod:`~generators.mobility.campus`: :func:`generate_campus` and :class:`SyntheticCampus`;
* :mod:`~generators.mobility.aplog`: :func:`to_ap_log`.
"""

from generators.mobility.aplog import to_ap_log
from generators.mobility.campus import SyntheticCampus, generate_campus
from generators.mobility.config import KINDS, WEEKDAYS, CampusConfig
from generators.mobility.days import DAY_VARIATES
from generators.mobility.layout import CampusLayout
from generators.mobility.routines import Routines

__all__ = [
    "DAY_VARIATES",
    "KINDS",
    "WEEKDAYS",
    "CampusConfig",
    "CampusLayout",
    "Routines",
    "SyntheticCampus",
    "generate_campus",
    "to_ap_log",
]
