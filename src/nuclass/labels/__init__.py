"""Labels: NOvA's enums, the six tasks, the truth fields, the truth groupings and selections on truth —
the only place label rules live."""

from nuclass.labels.enums import (
    N_FINALSTATES,
    N_INTERACTIONS,
    FinalState,
    Interaction,
    final_state_code,
    flavour_index,
    mode_index,
)
from nuclass.labels.tasks import KIND_METRICS, METRIC_WORDS, TASKS, KindMetrics, Task, get_task

__all__ = [
    "Interaction",
    "FinalState",
    "Task",
    "TASKS",
    "get_task",
    "KindMetrics",
    "KIND_METRICS",
    "METRIC_WORDS",
    "N_INTERACTIONS",
    "N_FINALSTATES",
    "final_state_code",
    "flavour_index",
    "mode_index",
]
