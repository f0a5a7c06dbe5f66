"""mcsim: a simulation environment for mobile crowdsensing research.

Traces -> daily cycles -> repetitive mobility patterns -> task allocation policies ->
a SimPy world of users and phones (SenseGen sensor streams) -> metrics, and a Gymnasium env.
"""

import gymnasium

__version__ = "0.1.0"

# Registered by id with a string entry point: importing mcsim does not import the simulator;
# gymnasium.make does, when an env is made (also as "mcsim:mcsim/Crowdsensing-v0").
if "mcsim/Crowdsensing-v0" not in gymnasium.registry:
    gymnasium.register(
        id="mcsim/Crowdsensing-v0", entry_point="mcsim.envs.crowdsensing:CrowdsensingEnv"
    )
