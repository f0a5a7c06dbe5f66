"""Data generators for mcsim: SenseGen accelerometer streams (``generators.sensegen``), the
sensor interface the simulator uses (``generators.sensors``) and synthetic mobility."""
