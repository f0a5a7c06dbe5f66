"""From a trace to knowledge: daily cycles, the location model p(loc | u), repetitive patterns."""
