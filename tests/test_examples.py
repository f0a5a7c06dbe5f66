"""The README's examples keep working: the plug-in policy passes the policy checker."""

from __future__ import annotations

from policies import check_policy, make_policy


def test_example_plugin_policy_passes_the_checker() -> None:
    policy = make_policy("examples.most_likely:MostLikely", min_probability=0.2)
    assert repr(policy) == "MostLikely(min_probability=0.2)"
    check_policy(policy, n_instances=20)
