"""mcsim: a simulation environment for mobile crowdsensing research.

Traces -> daily cycles -> repetitive mobility patterns -> task allocation policies ->
a SimPy world of users and phones (SenseGen sensor streams) -> metrics, and a Gymnasium env.
"""

__version__ = "0.1.0"
