"""`cvn`, nuclass's own network: one residual branch per view, merged late, a small head per task.

Built to beat the seed baselines at the same CPU budget: a stride-2 stem and stride-2 residual stages
shrink the 100 × 80 views early (most pixels are empty), batch norm lets it train fast at a high
learning rate, and global average + max pooling keep the head small whatever the event's position in
the window. Pixels enter as log1p(charge) / ln 256 in [0, 1], which keeps the Bragg peaks and shower
cores from drowning the minimum-ionising tracks. Training mirrors the x–z view of half the events
(x → −x is a symmetry of beam and detector): twice the distinct images against overfitting.
"""

from __future__ import annotations

import torch
from torch import nn

from nuclass.labels import Task
from nuclass.models import Recipe, register_model

__all__ = ["CVN", "ResidualBlock"]


class ResidualBlock(nn.Module):
    """Two 3×3 conv + batch norm layers with a shortcut; `stride` 2 halves the map (ceil)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: deep nets train from step one

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class _ViewBranch(nn.Sequential):
    """One view (B, 1, 100, 80) -> (B, widths[-1], 13, 10) for three widths.

    No residual block at the stem's 50 × 40 resolution: it would cost a third of the compute
    (measured: 69 against 102 events/s on one CPU thread) for little gain on such sparse maps.
    """

    def __init__(self, widths: tuple[int, ...]) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(1, widths[0], 5, stride=2, padding=2, bias=False),  # (B, 1, 100, 80) -> (B, w0, 50, 40)
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers.append(ResidualBlock(c_in, c_out, stride=2))  # 50×40 -> 25×20 -> 13×10
        layers.append(ResidualBlock(widths[-1], widths[-1]))  # -> (B, w_last, 13, 10)
        super().__init__(*layers)


class CVN(nn.Module):
    """Per-view residual branches → global average and max pooling → concatenated views → MLP head.

    Departures from a textbook ResNet, on purpose: the two views keep separate weights (their
    geometry differs: x–z and y–z), and they meet only after pooling, as NOvA's CVN merges them late.
    """

    def __init__(self, task: Task, widths: tuple[int, ...] = (16, 32, 64), hidden: int = 64) -> None:
        super().__init__()
        self.branches = nn.ModuleList([_ViewBranch(widths), _ViewBranch(widths)])
        n_features = 2 * 2 * widths[-1]  # 2 views × (average, max)
        self.head = nn.Sequential(
            nn.Linear(n_features, hidden),  # (B, 4 w_last) -> (B, hidden)
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, task.n_outputs),  # -> (B, n_outputs)
        )
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
        )

    def features(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, 2, 100, 80) -> (B, 4 w_last): average- and max-pooled features of each view."""
        pooled = []
        for v, branch in enumerate(self.branches):
            fmap = branch(maps[:, v : v + 1])  # (B, w_last, 13, 10)
            pooled += [fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))]
        return torch.cat(pooled, dim=1)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(maps))


register_model("cvn")(CVN)
