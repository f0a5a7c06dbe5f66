"""From a trace to knowledge: daily cycles, the location model p(loc | u), repetitive patterns,
and visit windows (when users are at a place: :class:`~mcsim.mining.windows.VisitWindows`)."""
