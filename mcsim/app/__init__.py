"""The application layer: scenarios, the one pipeline, the runner, plots and the command line.

It imports the core (:mod:`mcsim.data`, :mod:`mcsim.mining`, :mod:`mcsim.platform`,
:mod:`mcsim.sim`) and the plug-ins (``generators``, ``policies``); nothing below imports it.
"""
