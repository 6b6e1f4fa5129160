"""The NOvA-like event simulator, the embedded default data source (see DESIGN §3)."""

from nuclass.sim.config import NOMINAL_GEOMETRY, SimConfig
from nuclass.sim.generate import simulate_events, simulate_files

__all__ = ["SimConfig", "NOMINAL_GEOMETRY", "simulate_events", "simulate_files"]
