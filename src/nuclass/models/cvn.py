"""`cvn`, nuclass's own network: one residual branch per view, merged late, a small head per task (one
network may carry the heads of several tasks on one shared trunk).

Built to beat the seed baselines at the same CPU budget, where events seen per CPU-second decide:
the 100 × 80 views are shrunk to 25 × 20 by a stride-2 stem and a max-pool before any residual block
(most pixels are empty), and the two view branches run as one grouped convolution (groups=2: separate
weights per view, half the kernel calls). Batch norm lets it train at a high learning rate from the
first steps; global average + max pooling keep the head small whatever the event's position in the
window. Pixels enter as log1p(charge) / ln 256 in [0, 1], which keeps the Bragg peaks and shower cores
from drowning the minimum-ionising tracks; the head also gets each view's total charge (the calorimetric
energy, which convolutions of log1p pixels cannot sum). Training mirrors the x–z view of half the
events (x → −x is a symmetry of beam and detector): twice the distinct images against overfitting;
predictions average each event with its mirror image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from nuclass.labels import Task
from nuclass.models.registry import Recipe, register_model

__all__ = ["CVN", "ResidualBlock", "TaskHeads"]

N_VIEWS = 2
_LOG_256 = math.log(256.0)  # the log1p pixel transform's scale (nuclass.data.transforms)


class ResidualBlock(nn.Module):
    """Two 3×3 conv + batch norm layers with a shortcut; `stride` 2 halves the map (ceil).

    `groups` = number of views: channels [0, c/groups) belong to the first view, and so on; no weight
    mixes two views.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False, groups=groups)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False, groups=groups)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False, groups=groups), nn.BatchNorm2d(c_out)
            )
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: deep nets train from step one

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class _ViewBranches(nn.Sequential):
    """Both views' branches side by side: (B, 2, 100, 80) -> (B, 2 · widths[-1], 7, 5), view-major channels.

    Measured on one CPU thread (training step, batch 64): 530 events per CPU-second, against 220 for
    branches with a residual block at 50 × 40 and 310 for seed-multiview.
    """

    def __init__(self, stem: int, widths: tuple[int, ...], extra_blocks: int) -> None:
        g = N_VIEWS
        layers: list[nn.Module] = [
            nn.Conv2d(g, g * stem, 3, stride=2, padding=1, bias=False, groups=g),  # -> (B, 2 stem, 50, 40)
            nn.BatchNorm2d(g * stem),
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (B, 2 stem, 25, 20)
        ]
        c_in = stem
        for c_out in widths:
            layers.append(ResidualBlock(g * c_in, g * c_out, stride=2, groups=g))  # 25×20 -> 13×10 -> 7×5
            c_in = c_out
        layers += [ResidualBlock(g * c_in, g * c_in, groups=g) for _ in range(extra_blocks)]  # at 7×5
        super().__init__(*layers)


def _head(n_features: int, hidden: int, n_outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_features, hidden),  # (B, 4 w_last + 2) -> (B, hidden)
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(hidden, n_outputs),  # -> (B, n_outputs)
    )


class TaskHeads(nn.ModuleDict):
    """One head per task on the same features, keyed by task name: (B, F) -> (B, Σ n_outputs), each head's
    outputs side by side in task order."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(features) for head in self.values()], dim=1)


class CVN(nn.Module):
    """Per-view residual branches → global average and max pooling (+ total charge) → concatenated views
    → an MLP head per task.

    Departures from a textbook ResNet, on purpose: the two views keep separate weights (their
    geometry differs: x–z and y–z), and they meet only after pooling, as NOvA's CVN merges them late.
    For one task `head` is that task's MLP (the state-dict layout of every single-task run); for several
    it is a TaskHeads of one MLP each (`head.<task>.…`), all on the shared trunk.
    """

    def __init__(
        self,
        task: Task | Sequence[Task],
        stem: int = 16,
        widths: tuple[int, ...] = (32, 64),
        extra_blocks: int = 1,
        hidden: int = 64,
    ) -> None:
        super().__init__()
        self.branches = _ViewBranches(stem, widths, extra_blocks)
        n_features = 2 * N_VIEWS * widths[-1] + N_VIEWS  # (average, max) × views × channels, charge × views
        if isinstance(task, Task):
            self.head: nn.Module = _head(n_features, hidden, task.n_outputs)
        else:
            self.head = TaskHeads({t.name: _head(n_features, hidden, t.n_outputs) for t in task})
        self.recipe = Recipe(
            optimizer="adamw",
            learning_rate=3e-3,
            weight_decay=1e-4,
            batch_size=64,
            max_epochs=30,
            patience=5,
            scheduler="cosine",
            pixel_transform="log1p",
            mirror_x=True,
            balance="sampler",
        )

    def features(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, 2, 100, 80) log1p maps -> (B, 4 w_last + 2): average- and max-pooled features of each view,
        and each view's total charge, ln(1 + Σ q) / 10, which the log1p input no longer sums linearly
        (the calorimetric energy)."""
        fmap = self.branches(maps)  # (B, 2 w_last, 7, 5)
        charge = torch.expm1(maps.detach() * _LOG_256).sum(dim=(2, 3))  # (B, 2) in ADC counts
        return torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3)), torch.log1p(charge) / 10], dim=1)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Outputs (B, n_outputs) (several tasks: their outputs side by side). In eval mode, the mean over
        the event and its x-mirror image (the
        symmetry training uses), which removes the network's residual left–right bias for free."""
        out = self.head(self.features(maps))
        if self.training:
            return out
        mirrored = torch.cat([maps[:, :1].flip(-1), maps[:, 1:]], dim=1)
        return 0.5 * (out + self.head(self.features(mirrored)))


register_model("cvn", multitask=True)(CVN)
