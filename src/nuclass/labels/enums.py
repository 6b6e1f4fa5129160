"""NOvA's interaction and final-state enums, and the flavour and mode class of each interaction code.

Codes follow NOvA's `rec.training.trainingdata` enums as written out in the seed notebooks (seed 000's
spelling). `kNIntType` and `kNFStType` in those enums are vector sizes, not event codes, so they are not
members here and a file holding them is rejected.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = [
    "Interaction",
    "FinalState",
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
