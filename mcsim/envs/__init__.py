"""Gymnasium environments over the simulated world, and agents that act in them."""
