"""Hardware-in-the-loop simulator: simulated gas detectors on real ptys, TCP sockets
and bleak's backend seam, driven by a numpy gas-field model and a scenario file.

Public API::

    from hil_sim import Simulation, SimulationThread, load_scenario, list_scenarios

    async with Simulation("molasses-tank", speed=0) as sim:   # speed 0: time moves on advance()
        sim.endpoints["gasl-serial"].port        # "/dev/pts/N" or "socket://127.0.0.1:P"
        sim.endpoints["gasl-ble"].ble_address    # with sim.ble.client_backend / scanner_backend
        await sim.advance(60)                    # 60 scenario seconds, one frame per period
        await sim.jump(600)                      # skip ahead, no frames in between
        sim.clock.now                            # inject into drivers and rules

Exceptions::

    SimError (code: SimErrorCode)
     ├── ScenarioError   bad scenario file: .problems lists (key path, message)
     └── DeviceError     a simulated device cannot start

Production code never imports this package.
"""

from hil_sim.clock import ScenarioClock
from hil_sim.errors import DeviceError, ScenarioError, SimError, SimErrorCode
from hil_sim.gasfield import GasField
from hil_sim.runner import Endpoint, Simulation, SimulationThread
from hil_sim.scenario import FaultKind, Scenario, list_scenarios, load_scenario, parse_scenario

__all__ = [
    "DeviceError",
    "Endpoint",
    "FaultKind",
    "GasField",
    "Scenario",
    "ScenarioClock",
    "ScenarioError",
    "SimError",
    "SimErrorCode",
    "Simulation",
    "SimulationThread",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
]
