"""Task-allocation policies for mcsim: the paper's four strategies, its baselines, a
time-window-aware greedy (TW, beyond the paper) and plug-ins.

Public API (kept small on purpose; everything else is an implementation detail):

* :class:`AllocationPolicy`: the base class; subclasses implement ``_allocate`` only.
* :func:`make_policy`: build a policy from a name (MLP, MDP, IU1, IU2, IGA, BGA, NA, TW,
  case-insensitive), a ``"package.module:Class"`` path or an installed ``mcsim.policies``
  entry point, with keyword parameters.
* :func:`available_policies`, :func:`register_policy`: list and extend the registry.
* :func:`check_policy`: constraints, determinism and read-only inputs on random instances.

Example:
    >>> from policies import make_policy
    >>> make_policy("IU1", delta=0.8)
    IU1(delta=0.8)
"""

from policies.base import AllocationPolicy
from policies.checker import check_policy
from policies.registry import BUILTIN_POLICIES, available_policies, make_policy, register_policy

__all__ = [
    "BUILTIN_POLICIES",
    "AllocationPolicy",
    "available_policies",
    "check_policy",
    "make_policy",
    "register_policy",
]
