"""Every registered model × every task: shapes, finite outputs, gradients, learning; the seeds' sizes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from nuclass.errors import ConfigError
from nuclass.labels import TASKS
from nuclass.models import create_model, list_models
from nuclass.training import TaskModule, TrainConfig

torch.set_num_threads(1)  # the test machine is shared: one thread is the fastest there


def _batch(task_name: str, n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse raw maps (uint8 charge, what networks take) and targets of the task's kind (standardised
    values for regression)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, 100, 80, generator=gen)
    x[x < 0.97] = 0
    x = (x * 255).to(torch.uint8)
    task = TASKS[task_name]
    if task.kind == "regression":
        y = torch.randn(n, generator=gen)
    else:
        y = torch.arange(n) % max(task.n_outputs, 2)
    return x, y


def _without_dropout(module: torch.nn.Module) -> torch.nn.Module:
    """Training mode (batch norm on batch stats) with dropout off: a deterministic loss on a fixed batch."""
    module.train()
    for layer in module.modules():
        if isinstance(layer, torch.nn.Dropout):
            layer.eval()
    return module


def _module(model: str, task: str) -> TaskModule:
    torch.manual_seed(0)
    return TaskModule(create_model(model, task), task, TrainConfig(task=task, model=model))


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("model", list_models())
def test_model_shapes_gradients_and_learning(model: str, task: str) -> None:
    module = _module(model, task)
    x, y = _batch(task)
    out = module(x)
    assert out.shape == (6, TASKS[task].n_outputs)
    assert torch.isfinite(out).all()
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    with torch.no_grad():
        before = float(module._loss(_without_dropout(module)(x), y))
    module.train()
    for step in range(40):
        optimizer.zero_grad()
        module._loss(module(x), y).backward()
        if step == 1:  # after one step: cvn's zero-initialised last batch norms no longer block gradients
            silent = [n for n, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            assert silent == []
        optimizer.step()
    with torch.no_grad():
        after = float(module._loss(_without_dropout(module)(x), y))
    assert np.isfinite(after) and after < 0.95 * before


@pytest.mark.parametrize(
    ("model", "task", "n_parameters"),
    [
        ("seed-multiview", "numu-cc", 40_433),  # seed 000's summary
        ("seed-multiview", "flavour", 40_433 + 2 * 9),  # two more outputs of Dense(8 -> .)
        ("seed-multiview", "energy", 40_433),
        ("seed-2ch", "numu-cc", 4_115_361),  # seed 001's summary
        ("seed-2ch", "mode", 4_115_361 + 4 * 129),
    ],
)
def test_baseline_parameter_counts(model: str, task: str, n_parameters: int) -> None:
    net = create_model(model, task)
    assert sum(p.numel() for p in net.parameters()) == n_parameters


def test_baseline_feature_shapes_follow_the_seeds() -> None:
    x = torch.zeros(3, 2, 100, 80)
    assert create_model("seed-multiview", "numu-cc").features(x).shape == (3, 16 * 13 * 10 * 2)
    assert create_model("seed-2ch", "numu-cc").features(x).shape == (3, 32_000)


def test_seed_2ch_stacks_views_as_channels() -> None:
    """A hit in view 1 reaches the network through input channel 1 only (no Keras reshape scramble)."""
    net = create_model("seed-2ch", "numu-cc").eval()
    conv = net.body[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[:, 1] = 1.0  # only channel 1 (view 1) feeds the first layer
        x = torch.zeros(1, 2, 100, 80)
        x[0, 0, 50, 40] = 1.0
        silent = net.features(x).abs().sum()
        x[0, 1, 50, 40] = 1.0
        lit = net.features(x).abs().sum()
    assert float(silent) == 0.0 and float(lit) > 0.0


def test_recipes_follow_design() -> None:
    multiview = create_model("seed-multiview", "numu-cc").recipe
    assert ((multiview.optimizer, multiview.batch_size, multiview.max_epochs, multiview.patience)
            == ("adam", 64, 50, 5))
    regression = create_model("seed-multiview", "energy").recipe
    assert (regression.optimizer, regression.batch_size) == ("rmsprop", 32)
    two_channel = create_model("seed-2ch", "numu-cc").recipe
    assert (two_channel.max_epochs, two_channel.patience, two_channel.scheduler) == (100, 10, "plateau")
    assert (two_channel.plateau_factor, two_channel.plateau_patience, two_channel.min_lr) == (0.2, 5, 1e-5)
    for name in list_models():
        assert create_model(name, "y").recipe.pixel_transform in ("div255", "log1p")


def test_unknown_model_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid models: cvn, seed-multiview, seed-2ch"):
        create_model("resnet", "numu-cc")
    with pytest.raises(ConfigError, match="unknown task"):
        create_model("cvn", "tau")


def test_listing_models_does_not_import_torch() -> None:
    code = "import sys, nuclass.models as m; print(m.list_models(), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['cvn', 'seed-multiview', 'seed-2ch'] False"


@pytest.mark.parametrize("task", ["numu-cc", "mode", "energy"])
def test_cvn_predictions_respect_the_x_mirror_symmetry(task: str) -> None:
    """In eval mode cvn averages each event with its x-mirror image: mirroring the x–z view changes
    nothing."""
    module = _module("cvn", task).eval()
    x, _ = _batch(task)
    mirrored = x.clone()
    mirrored[:, 0] = x[:, 0].flip(-1)
    with torch.no_grad():
        assert torch.allclose(module(x), module(mirrored), atol=1e-5)
        module.train()
        assert not torch.allclose(module(x), module(mirrored), atol=1e-5)  # training sees each image as it is
