"""The NOvA near-detector event simulator, the embedded default data source (see DESIGN §3)."""

from nuclass.sim.config import PRESETS, SimConfig
from nuclass.sim.files import read_manifest, simulate_files
from nuclass.sim.generate import generate, simulate_at, simulate_events

__all__ = ["SimConfig", "PRESETS", "simulate_events", "simulate_at", "simulate_files", "generate",
           "read_manifest"]
