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
from nuclass.labels.tasks import (
    ALL_TASKS,
    KIND_METRICS,
    METRIC_WORDS,
    TASKS,
    KindMetrics,
    Task,
    get_task,
    parse_tasks,
    task_spec,
)

__all__ = [
    "Interaction",
    "FinalState",
    "Task",
    "TASKS",
    "get_task",
    "parse_tasks",
    "task_spec",
    "ALL_TASKS",
    "KindMetrics",
    "KIND_METRICS",
    "METRIC_WORDS",
    "N_INTERACTIONS",
    "N_FINALSTATES",
    "final_state_code",
    "flavour_index",
    "mode_index",
]
