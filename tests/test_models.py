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


def _maps(n: int, seed: int = 0) -> torch.Tensor:
    """Sparse raw maps (n, 2, 100, 80) uint8: 3 % of the pixels lit with charges 1–255."""
    gen = torch.Generator().manual_seed(seed)
    lit = torch.rand(n, 2, 100, 80, generator=gen) >= 0.97
    return torch.where(lit, torch.randint(1, 256, (n, 2, 100, 80), generator=gen), 0).to(torch.uint8)


def _batch(task_name: str, n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse raw maps (uint8) and targets of the task's kind (standardised values for regression)."""
    gen = torch.Generator().manual_seed(seed)
    x = _maps(n, seed)
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


def test_multitask_cvn_has_a_head_per_task_and_learns_them_all() -> None:
    """One trunk, six heads: outputs side by side, each head's loss over the events its task uses only."""
    names = list(TASKS)
    torch.manual_seed(0)
    module = TaskModule(create_model("cvn", names), names, TrainConfig(task="all"))
    x = _maps(8)
    y = {name: _batch(name, 8)[1] for name in names}
    y["mode"][:2] = -1  # events the mode task does not use, and a code-15 event for the regressions
    y["energy"][0] = y["y"][0] = float("nan")
    out = module(x)
    assert out.shape == (8, sum(t.n_outputs for t in TASKS.values())) and torch.isfinite(out).all()
    parts = module.split_outputs(out)
    assert {k: v.shape[1] for k, v in parts.items()} == {k: t.n_outputs for k, t in TASKS.items()}
    with torch.no_grad():
        losses = module._losses(out, y)
        assert all(torch.isfinite(v) for v in losses.values())
        nothing = {**y, "mode": torch.full((8,), -1)}  # a batch without a single mode event: loss 0, no NaN
        assert float(module._losses(out, nothing)["mode"]) == 0.0
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    with torch.no_grad():
        before = module._losses(_without_dropout(module)(x), y)
    module.train()
    for _ in range(40):
        optimizer.zero_grad()
        module._loss(module(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        after = module._losses(_without_dropout(module)(x), y)
    assert all(after[k] < 0.95 * before[k] for k in names), (before, after)
    with pytest.raises(ConfigError, match="several tasks need a multi-task model: cvn"):
        create_model("seed-2ch", names)


def test_uncertainty_weights_learn_a_log_variance_per_task() -> None:
    from nuclass.training.module import UncertaintyWeights

    weights = UncertaintyWeights([TASKS["numu-cc"], TASKS["energy"]])
    losses = {"numu-cc": torch.tensor(0.5), "energy": torch.tensor(2.0)}
    assert float(weights(losses).detach()) == pytest.approx(0.5 + 0.5 * 2.0)  # s = 0: c L, c = ½ regression
    assert weights.weights() == {"numu-cc": 1.0, "energy": 0.5}
    total = weights(losses)
    total.backward()
    # dL/ds = −c exp(−s) L + 1/2: positive for a small loss (its weight falls), negative for a large one
    assert weights.log_var.grad.tolist() == pytest.approx([-0.5 + 0.5, -1.0 + 0.5])


def test_the_network_applies_the_pixel_transform_to_raw_charge() -> None:
    """TaskNetwork(raw uint8) is the bare net on the transformed maps, as single-task runs before the
    transform moved into the network were trained and scored: their weights give the same outputs."""
    from nuclass.data import normalise_maps
    from nuclass.models.network import PixelTransform, TaskNetwork

    raw = _maps(4)
    for name in ("div255", "log1p"):
        assert PixelTransform(name)(raw).numpy() == pytest.approx(normalise_maps(raw.numpy(), name), abs=1e-7)
        assert PixelTransform(name)(raw.float()).numpy() == pytest.approx(normalise_maps(raw.numpy(), name),
                                                                          abs=1e-7)
    for model in list_models():
        torch.manual_seed(0)
        network = TaskNetwork(create_model(model, "flavour"), "flavour").eval()
        old_input = torch.from_numpy(normalise_maps(raw.numpy(), network.recipe.pixel_transform))
        with torch.no_grad():
            assert torch.allclose(network(raw), network.net(old_input), atol=1e-5), model


@pytest.mark.parametrize("model", list_models())
def test_single_task_weights_keep_their_state_dict_layout(model: str) -> None:
    """model.safetensors and checkpoints of one-task runs: the bare net's keys under net., and the three
    buffers by their plain names (the layout of every run before multi-task networks), loadable as they
    are."""
    from nuclass.models.network import TaskNetwork

    bare = create_model(model, "numu-cc")
    network = TaskNetwork(create_model(model, "numu-cc"), "numu-cc")
    expected = {f"net.{k}" for k in bare.state_dict()} | {"class_weights", "target_mean", "target_std"}
    assert set(network.state_dict()) == expected
    legacy = {f"net.{k}": v for k, v in bare.state_dict().items()}
    legacy |= {"class_weights": torch.ones(2), "target_mean": torch.tensor(0.0),
               "target_std": torch.tensor(1.0)}
    network.load_state_dict(legacy)  # strict: nothing missing, nothing unexpected


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
