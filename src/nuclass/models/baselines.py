"""The seed notebooks' networks, layer by layer, as the baselines every result is compared with.

`seed-multiview` is seed 000's two-branch network and `seed-2ch` seed 001's two-channel network,
with Keras' default initialisation (Glorot-uniform weights, zero biases) and their training recipes.
Deliberate departures, for every model here:
- multi-class heads are softmax + cross-entropy (the loss applies the softmax to the raw outputs);
  seed 000 put sigmoid outputs under a categorical cross-entropy;
- binary heads return one logit and train with a sigmoid binary cross-entropy (numerically the same
  as the seeds' sigmoid layer + binary cross-entropy);
- regression targets are the task's transform (ln E for energy, y as is) standardised on the training
  set, not integers divided by the maximum as in the notebooks.
"""

from __future__ import annotations

import torch
from torch import nn

from nuclass.labels import Task
from nuclass.models.registry import Recipe, register_model

__all__ = ["SeedMultiView", "SeedTwoChannel"]


def _keras_init(module: nn.Module) -> None:
    """Keras defaults: Glorot-uniform kernels and zero biases for every Conv2d and Linear."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class _SeedViewBranch(nn.Sequential):
    """Seed 000's convolutional body for one view; its 2nd and 3rd convolutions have no activation."""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv2d(1, 8, 3, padding=1),  # (B, 1, 100, 80) -> (B, 8, 100, 80)
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),  # -> (B, 8, 50, 40); ceil_mode = Keras padding 'same'
            nn.Dropout(0.25),
            nn.Conv2d(8, 16, 3, padding=1),  # -> (B, 16, 50, 40), linear as in the seed
            nn.MaxPool2d(2, ceil_mode=True),  # -> (B, 16, 25, 20)
            nn.Dropout(0.25),
            nn.Conv2d(16, 16, 3, padding=1),  # -> (B, 16, 25, 20), linear as in the seed
            nn.MaxPool2d(2, ceil_mode=True),  # -> (B, 16, 13, 10)
            nn.Dropout(0.4),
        )


class SeedMultiView(nn.Module):
    """Seed 000: one small CNN per view, concatenated on channels, Dense 8, one output layer.

    Classification: Dense 8 relu → Dropout 0.5 → Dense n_outputs (40,433 parameters for a binary head).
    Regression (seed 000's energy model): Dense 8 linear → Dropout 0.5 → Dense 1 linear, MSE, trained
    with RMSprop and batch 32.
    """

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.branches = nn.ModuleList([_SeedViewBranch(), _SeedViewBranch()])
        dense_activation = nn.ReLU() if task.is_classification else nn.Identity()
        self.head = nn.Sequential(
            nn.Linear(2 * 16 * 13 * 10, 8),  # (B, 4160) -> (B, 8)
            dense_activation,
            nn.Dropout(0.5),
            nn.Linear(8, task.n_outputs),  # -> (B, n_outputs)
        )
        _keras_init(self)
        regression = not task.is_classification
        self.recipe = Recipe(
            optimizer="rmsprop" if regression else "adam",
            batch_size=32 if regression else 64,
            max_epochs=50,
            patience=5,
        )

    def features(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, 2, 100, 80) -> (B, 4160): both views' feature maps stacked on channels, flattened."""
        views = [branch(maps[:, v : v + 1]) for v, branch in enumerate(self.branches)]  # 2 × (B, 16, 13, 10)
        return torch.cat(views, dim=1).flatten(1)  # (B, 32, 13, 10) -> (B, 4160)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(maps))


class SeedTwoChannel(nn.Module):
    """Seed 001: the two views as two channels of one image; two convolutions, Dense 128, one output layer.

    4,115,361 parameters for a binary head. Departure: the views are stacked as channels properly
    (seed 001's Keras `Reshape((80, 100, 2))` of a (2, 80, 100) array scrambled views and planes).
    Trained with Adam 1e-3, batch 64, up to 100 epochs, early stop patience 10, LR ÷ 5 on plateau.
    """

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(2, 32, 3, padding=1),  # (B, 2, 100, 80) -> (B, 32, 100, 80)
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (B, 32, 50, 40)
            nn.Conv2d(32, 64, 3, padding=1),  # -> (B, 64, 50, 40)
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (B, 64, 25, 20)
            nn.Flatten(),  # -> (B, 32000)
        )
        self.head = nn.Sequential(
            nn.Linear(64 * 25 * 20, 128),  # (B, 32000) -> (B, 128)
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, task.n_outputs),  # -> (B, n_outputs)
        )
        _keras_init(self)
        self.recipe = Recipe(optimizer="adam", batch_size=64, max_epochs=100, patience=10,
                             scheduler="plateau")

    def features(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, 2, 100, 80) -> (B, 32000)."""
        return self.body(maps)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(maps))


register_model("seed-multiview")(SeedMultiView)
register_model("seed-2ch")(SeedTwoChannel)
