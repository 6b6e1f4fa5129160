"""NOvA's interaction and final-state enums and the six learning tasks: the only place label rules live.

Codes follow NOvA's `rec.training.trainingdata` enums as written out in the seed notebooks (seed 000's
spelling). `kNIntType` and `kNFStType` in those enums are vector sizes, not event codes, so they are not
members here and a file holding them is rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = [
    "Interaction",
    "FinalState",
    "Task",
    "TASKS",
    "get_task",
    "N_INTERACTIONS",
    "N_FINALSTATES",
    "final_state_code",
    "flavour_index",
    "mode_index",
]


class Interaction(IntEnum):
    """NOvA's interaction type (`neutrino/interaction`)."""

    kNumuQE = 0
    kNumuRes = 1
    kNumuDIS = 2
    kNumuOther = 3
    kNueQE = 4
    kNueRes = 5
    kNueDIS = 6
    kNueOther = 7
    kNutauQE = 8
    kNutauRes = 9
    kNutauDIS = 10
    kNutauOther = 11
    kNuElectronElastic = 12
    kNC = 13
    kCosmic = 14
    kOther = 15


_FS_FLAVOURS = ("Numu", "Nue", "NC")
_FS_COUNTS = ("0", "1", "2", "M")  # 0, 1, 2, 3+ tracks or showers
FinalState = IntEnum(
    "FinalState",
    [
        (f"k{flav}{tr}tr{sh}sh", 16 * f + 4 * t + s)
        for f, flav in enumerate(_FS_FLAVOURS)
        for t, tr in enumerate(_FS_COUNTS)
        for s, sh in enumerate(_FS_COUNTS)
    ]
    + [("kCosmicFS", 48), ("kOtherFS", 49)],
    module=__name__,
)
FinalState.__doc__ = (
    "NOvA's final state (`neutrino/finalstate`): flavour (νμ CC, νe CC, NC) × visible tracks {0,1,2,3+} × "
    "visible showers {0,1,2,3+}, then cosmic (48) and other (49)."
)

N_INTERACTIONS = len(Interaction)  # 16 valid codes, 0..15
N_FINALSTATES = len(FinalState)  # 50 valid codes, 0..49


def final_state_code(flavour: np.ndarray, n_tracks: np.ndarray, n_showers: np.ndarray) -> np.ndarray:
    """FinalState code from flavour (0 νμ CC, 1 νe CC, 2 NC) and visible track/shower counts (capped at 3)."""
    return 16 * np.asarray(flavour) + 4 * np.minimum(n_tracks, 3) + np.minimum(n_showers, 3)


# Interaction code -> flavour class (0 νμ CC, 1 νe CC, 2 NC & other: seed 000's grouping).
_FLAVOUR_OF = np.array([0] * 4 + [1] * 4 + [2] * 8)
# Interaction code -> mode class (0 QE, 1 RES, 2 DIS, 3 other CC, 4 NC); -1: not used by the mode task.
_MODE_OF = np.array([0, 1, 2, 3] * 3 + [4, 4, -1, -1])


def flavour_index(interaction: np.ndarray) -> np.ndarray:
    """Flavour class of each event: 0 νμ CC (codes 0–3), 1 νe CC (4–7), 2 NC & other (8–15)."""
    return _FLAVOUR_OF[np.asarray(interaction, dtype=np.int64)]


def mode_index(interaction: np.ndarray) -> np.ndarray:
    """Mode class: 0 QE, 1 RES, 2 DIS, 3 other CC, 4 NC (codes 12, 13); −1 for cosmic and other (14, 15)."""
    return _MODE_OF[np.asarray(interaction, dtype=np.int64)]


Meta = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Task:
    """One learning task: which events it uses, its target, and how network outputs map back to physics.

    kind is "binary" (one logit, target 0/1), "multiclass" (one logit per class) or "regression"
    (one output in a transformed space: `to_network` / `from_network` map physical values to it and back).
    """

    name: str
    kind: str
    description: str
    class_names: tuple[str, ...]
    selects: Callable[[Meta], np.ndarray]
    target: Callable[[Meta], np.ndarray]
    unit: str = ""
    to_network: Callable[[np.ndarray], np.ndarray] = staticmethod(lambda v: v)
    from_network: Callable[[np.ndarray], np.ndarray] = staticmethod(lambda v: v)

    @property
    def n_outputs(self) -> int:
        return len(self.class_names) if self.kind == "multiclass" else 1

    @property
    def is_classification(self) -> bool:
        return self.kind != "regression"

    def labels(self, meta: Meta) -> tuple[np.ndarray, np.ndarray]:
        """(mask of events used, target of those events): int64 classes, or float32 physical values."""
        mask = np.asarray(self.selects(meta), dtype=bool)
        sub = {k: np.asarray(v)[mask] for k, v in meta.items()}
        target = self.target(sub)
        dtype = np.float32 if self.kind == "regression" else np.int64
        return mask, np.asarray(target, dtype=dtype)


def _all(meta: Meta) -> np.ndarray:
    return np.ones(len(meta["interaction"]), dtype=bool)


def _positive_energy(meta: Meta) -> np.ndarray:
    return np.asarray(meta["nuenergy"]) > 0


def _log(v: np.ndarray) -> np.ndarray:
    return np.log(np.asarray(v, dtype=np.float32))


def _exp(v: np.ndarray) -> np.ndarray:
    return np.exp(np.asarray(v, dtype=np.float32))


_MODE_NAMES = ("QE", "RES", "DIS", "other CC", "NC")

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "numu-cc",
            "binary",
            "νμ CC (interaction 0–3) against everything else",
            ("not νμ CC", "νμ CC"),
            _all,
            lambda m: np.isin(m["interaction"], (0, 1, 2, 3)),
        ),
        Task(
            "nue-cc",
            "binary",
            "νe CC (interaction 4–7) against everything else",
            ("not νe CC", "νe CC"),
            _all,
            lambda m: np.isin(m["interaction"], (4, 5, 6, 7)),
        ),
        Task(
            "flavour",
            "multiclass",
            "νμ CC / νe CC / NC & other (seed 000's grouping)",
            ("νμ CC", "νe CC", "NC & other"),
            _all,
            lambda m: flavour_index(m["interaction"]),
        ),
        Task(
            "mode",
            "multiclass",
            "QE / RES / DIS / other CC / NC (cosmic and other codes left out)",
            _MODE_NAMES,
            lambda m: mode_index(m["interaction"]) >= 0,
            lambda m: mode_index(m["interaction"]),
        ),
        Task(
            "energy",
            "regression",
            "neutrino energy (GeV), learned as ln E",
            ("nuenergy",),
            _positive_energy,
            lambda m: m["nuenergy"],
            unit="GeV",
            to_network=_log,
            from_network=_exp,
        ),
        Task(
            "y",
            "regression",
            "y = lepenergy / nuenergy (the seeds' definition; inelasticity is 1 − y)",
            ("y",),
            _positive_energy,
            lambda m: (
                np.asarray(m["lepenergy"], dtype=np.float64) / np.asarray(m["nuenergy"], dtype=np.float64)
            ),
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name raises ConfigError listing the valid ones."""
    from nuclass.errors import ConfigError

    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task '{name}'; valid tasks: {', '.join(TASKS)}") from None
