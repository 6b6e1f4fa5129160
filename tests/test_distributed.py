"""Beyond one process: each rank streams a disjoint share of an epoch, and two "nodes" (two torchrun
processes on 127.0.0.1, node ranks 0 and 1, gloo) train one model together."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from nuclass.data import StreamingDataset, build_index, sampling_weights
from nuclass.data.streaming import WindowBatches
from nuclass.io import expand_paths
from nuclass.labels import TASKS

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
NODE_SCRIPT = Path(__file__).parent / "scripts" / "train_node.py"


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("world", [2, 3])
def test_ranks_and_loader_threads_stream_disjoint_shares(sim_dir: Path, world: int, workers: int) -> None:
    """Every event of an epoch is seen once across all ranks and their loader threads, none twice; each
    rank gets N // world events (the last N mod world are left out of that epoch)."""
    index = build_index(expand_paths([sim_dir]), TASKS["numu-cc"])
    seen = []
    for rank in range(world):
        dataset = StreamingDataset(index, TASKS["numu-cc"], batch_size=16, shuffle=True, buffer_events=64)
        dataset.rank, dataset.world = rank, world
        dataset.set_epoch(2)
        positions = np.concatenate([b["pos"].numpy() for b in WindowBatches(dataset, workers)])
        assert len(positions) == len(index) // world
        seen.append(positions)
    seen = np.concatenate(seen)
    assert len(np.unique(seen)) == len(seen) == world * (len(index) // world)


def test_weighted_draws_are_split_between_ranks_too(sim_dir: Path) -> None:
    """With the weighted sampler an epoch's draws (with replacement) are cut into the ranks' shares."""
    index = build_index(expand_paths([sim_dir]), TASKS["numu-cc"])
    draws = sampling_weights(index.target, 2)
    plans = []
    for rank in range(2):
        dataset = StreamingDataset(index, TASKS["numu-cc"], batch_size=16, shuffle=True, draw_weights=draws)
        dataset.rank, dataset.world = rank, 2
        plans.append(dataset.epoch_plan())
    whole = StreamingDataset(index, TASKS["numu-cc"], batch_size=16, shuffle=True, draw_weights=draws)
    assert np.array_equal(np.concatenate(plans), whole.epoch_plan()[: 2 * (len(index) // 2)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_under_torchrun_train_one_model(sim_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    nodes = []
    for node_rank in (0, 1):
        command = [TORCHRUN, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(node_rank),
                   "--master-addr", "127.0.0.1", "--master-port", str(port),
                   str(NODE_SCRIPT), str(sim_dir), str(tmp_path), "2"]
        nodes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    for node, output in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, output[-3000:]
    weights = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    assert set(weights[0]) == set(weights[1])
    for name, value in weights[0].items():  # gradients averaged across the nodes: one model
        assert np.array_equal(value.numpy(), weights[1][name].numpy()), name
    run = tmp_path / "run"
    assert (run / "model.safetensors").is_file() and (run / "summary.json").is_file()  # rank 0 wrote it
    summary = json.loads((run / "summary.json").read_text())
    assert summary["config"]["nodes"] == 2
    # both ranks trained: events trained = 2 × rank 0's share (N // 2 each)
    n_train = summary["n_events"]["train"]
    assert summary["training"]["events_trained"] == 2 * (n_train // 2)
