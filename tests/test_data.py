"""Splits by file, balancing, per-task event indexes and the streaming dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_events
from nuclass.data import (
    StreamingDataset,
    build_index,
    class_weights,
    normalise_maps,
    sampling_weights,
    split_files,
    undersample_to_balance,
)
from nuclass.errors import ConfigError, FormatError
from nuclass.io import expand_paths, read_file, read_truth, write_file
from nuclass.labels import TASKS


@pytest.fixture(scope="module")
def odd_file(tmp_path_factory) -> Path:
    """120 events whose first 10 are code 15 (other) with zero energy and next 10 cosmics (code 14)."""
    events = make_events(120, seed=7)
    events.meta["interaction"][:10] = 15
    events.meta["interaction"][10:20] = 14
    for name in ("nuenergy", "lepenergy"):
        events.meta[name][:10] = 0.0
        events.meta[name][10:20] = np.maximum(events.meta[name][10:20], 1.0)  # cosmics carry an energy
    path = tmp_path_factory.mktemp("odd") / "neutrino1.h5"
    write_file(path, events, chunk_events=16)
    return path


def _files(n: int) -> list[Path]:
    return [Path(f"neutrino{k}.h5") for k in range(1, n + 1)]


@pytest.mark.parametrize(("n", "sizes"),
                         [(3, (1, 1, 1)), (4, (2, 1, 1)), (10, (8, 1, 1)), (200, (160, 20, 20))])
def test_split_by_file_rule(n: int, sizes: tuple[int, int, int]) -> None:
    split = split_files(_files(n), seed=3)
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == sizes
    together = split["train"] + split["val"] + split["test"]
    assert sorted(together) == sorted(_files(n))  # disjoint and complete


def test_split_is_seeded() -> None:
    files = _files(20)
    assert split_files(files, seed=1) == split_files(files, seed=1)
    assert split_files(files, seed=1)["test"] != split_files(files, seed=2)["test"]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_too_few_files_to_split(n: int) -> None:
    with pytest.raises(ConfigError, match="at least 3 files"):
        split_files(_files(n), seed=0)


def test_expand_paths(sim_dir: Path, tmp_path: Path) -> None:
    files = expand_paths([sim_dir])
    assert [f.name for f in files] == ["neutrino1.h5", "neutrino2.h5", "neutrino3.h5", "neutrino4.h5"]
    assert expand_paths([sim_dir / "neutrino*.h5", sim_dir / "neutrino2.h5"]) == files  # deduplicated
    with pytest.raises(ConfigError, match="no such file"):
        expand_paths([tmp_path / "missing.h5"])
    with pytest.raises(ConfigError, match="no .h5 files"):
        expand_paths([tmp_path])


def test_undersampling_balances_to_the_minority() -> None:
    targets = np.array([0] * 70 + [1] * 20 + [2] * 10)
    keep = undersample_to_balance(targets, 3, np.random.default_rng(0))
    assert np.bincount(targets[keep]).tolist() == [10, 10, 10]
    assert np.array_equal(keep, undersample_to_balance(targets, 3, np.random.default_rng(0)))  # seeded
    assert not np.array_equal(keep, undersample_to_balance(targets, 3, np.random.default_rng(1)))
    # a class absent from the data is ignored rather than forcing an empty set
    assert len(undersample_to_balance(np.array([0, 0, 0, 1]), 3, np.random.default_rng(0))) == 2


def test_class_and_sampling_weights() -> None:
    targets = np.array([0] * 75 + [1] * 25)
    weights = class_weights(targets, 2)
    assert weights == pytest.approx([100 / (2 * 75), 100 / (2 * 25)])
    assert (weights[targets]).sum() == pytest.approx(100)  # total weight unchanged
    p = sampling_weights(targets, 2)
    assert p.sum() == pytest.approx(1) and p[targets == 1].sum() == pytest.approx(0.5)


def test_index_drops_what_each_task_leaves_out(odd_file: Path) -> None:
    truth = read_truth(odd_file)
    for task in TASKS.values():
        index = build_index([odd_file], task)
        mask, target = task.labels(truth)
        assert np.array_equal(index.row, np.flatnonzero(mask))
        assert np.array_equal(index.target, target)
    assert len(build_index([odd_file], TASKS["numu-cc"])) == 120
    for name in ("energy", "y"):  # the zero-energy code-15 events are left out, the cosmics kept
        rows = build_index([odd_file], TASKS[name]).row
        assert not np.isin(np.arange(10), rows).any() and np.isin(np.arange(10, 20), rows).all()
    assert build_index([odd_file], TASKS["mode"]).row.min() == 20  # codes 14 and 15 left out
    assert build_index([odd_file], TASKS["numu-cc"]).chunk_events.tolist() == [16]


def _dataset(index, task: str = "numu-cc", **kw) -> StreamingDataset:
    kw.setdefault("batch_size", 32)
    kw.setdefault("shuffle", True)
    return StreamingDataset(index, TASKS[task], **kw)


def test_dataset_yields_the_raw_maps(sim_dir: Path) -> None:
    """Batches carry the raw uint8 charge (the network transforms it) and the target in network space."""
    files = expand_paths([sim_dir])[:2]
    index = build_index(files, TASKS["energy"])
    dataset = _dataset(index, "energy", buffer_events=100)
    originals = [read_file(f) for f in files]
    seen = []
    for batch in dataset:
        x, y, pos = batch["x"], batch["y"]["energy"], batch["pos"].numpy()
        assert x.dtype == torch.uint8 and x.shape[1:] == (2, 100, 80) and len(x) <= 32  # uint8 to the device
        for k in range(len(pos)):  # every event of the batch against the file itself
            source = originals[index.file_id[pos[k]]]
            assert np.array_equal(x[k].numpy(), source.maps[index.row[pos[k]]])
        assert np.allclose(y.numpy(), np.log(index.target[pos]))  # energy learned as ln E
        seen.append(pos)
    seen = np.concatenate(seen)
    assert np.array_equal(np.sort(seen), np.arange(len(index)))  # every event exactly once


def test_log1p_transform() -> None:
    maps = np.array([0, 1, 255], dtype=np.uint8)
    assert normalise_maps(maps, "log1p") == pytest.approx([0, np.log(2) / np.log(256), 1])
    with pytest.raises(ConfigError, match="valid: div255, log1p"):
        normalise_maps(maps, "sqrt")


@pytest.mark.parametrize("name", ["div255", "log1p"])
def test_the_network_side_transform_is_the_numpy_one(name: str) -> None:
    """The transform the network applies on its device (uint8 in) gives the numbers of the numpy one."""
    from nuclass.models.network import PixelTransform

    maps = np.arange(256, dtype=np.uint8).reshape(1, 256)
    on_device = PixelTransform(name)(torch.from_numpy(maps))
    assert on_device.dtype == torch.float32
    assert on_device.numpy() == pytest.approx(normalise_maps(maps, name), rel=1e-6, abs=1e-7)
    with pytest.raises(ConfigError, match="valid: div255, log1p"):
        PixelTransform("sqrt")


def test_shuffling_is_seeded_per_epoch(sim_dir: Path) -> None:
    index = build_index(expand_paths([sim_dir]), TASKS["numu-cc"])
    dataset = _dataset(index)
    first = dataset.epoch_plan()
    assert np.array_equal(first, dataset.epoch_plan())
    dataset.epoch = 1
    second = dataset.epoch_plan()
    assert not np.array_equal(first, second) and np.array_equal(np.sort(first), np.sort(second))
    ordered = _dataset(index, shuffle=False).epoch_plan()
    assert np.array_equal(ordered, np.arange(len(index)))


def test_ranks_get_equal_disjoint_shares(sim_dir: Path) -> None:
    index = build_index(expand_paths([sim_dir])[:3], TASKS["numu-cc"])
    plans = []
    for rank in (0, 1):
        dataset = _dataset(index)
        dataset.rank, dataset.world = rank, 2
        plans.append(dataset.epoch_plan())
        assert len(dataset) == -(-(len(index) // 2) // 32)
    assert len(plans[0]) == len(plans[1]) == len(index) // 2
    assert not set(plans[0]) & set(plans[1])


def test_workers_share_a_rank_without_overlap(sim_dir: Path) -> None:
    index = build_index(expand_paths([sim_dir])[:2], TASKS["numu-cc"])
    dataset = _dataset(index, buffer_events=64)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
    batches = list(loader)
    assert len(batches) == len(dataset)
    seen = np.concatenate([b["pos"].numpy() for b in batches])
    assert np.array_equal(np.sort(seen), np.arange(len(index)))


def test_loader_threads_read_ahead_stop_early_and_pass_errors_on(sim_dir: Path, monkeypatch) -> None:
    """WindowBatches: its threads' batches are the epoch's, in a fixed order; a consumer that stops early
    stops the threads; an error in a thread is raised in the consumer."""
    import threading

    from nuclass.data.streaming import WindowBatches

    index = build_index(expand_paths([sim_dir])[:2], TASKS["numu-cc"])
    dataset = _dataset(index, buffer_events=64)
    first, again = ([b["pos"].numpy() for b in WindowBatches(dataset, 3)] for _ in range(2))
    assert len(first) == len(dataset) and all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert np.array_equal(np.sort(np.concatenate(first)), np.arange(len(index)))

    batches = iter(WindowBatches(dataset, 2))
    next(batches)
    batches.close()  # what a loop that breaks out does, when the generator goes
    assert not [t for t in threading.enumerate() if t.name.startswith("nuclass-loader")]

    def broken(self, reader, pos, rng):
        raise FormatError("neutrino9.h5", "cvnmap", "readable data", "unreadable")

    monkeypatch.setattr(StreamingDataset, "_window", broken)
    with pytest.raises(FormatError, match="neutrino9.h5"):
        list(WindowBatches(dataset, 2))


def test_memory_is_bounded_by_the_buffer(sim_dir: Path, monkeypatch) -> None:
    """Maps are read a window of `buffer_events` at a time, never the whole split."""
    index = build_index(expand_paths([sim_dir]), TASKS["numu-cc"])
    dataset = _dataset(index, buffer_events=100)
    assert dataset.buffer_events == 96  # rounded down to whole batches
    windows = []
    original = StreamingDataset._window

    def spy(self, reader, pos, rng):
        windows.append(len(pos))
        return original(self, reader, pos, rng)

    monkeypatch.setattr(StreamingDataset, "_window", spy)
    n = sum(len(b["pos"]) for b in dataset)
    assert n == len(index) and max(windows) == 96 and len(windows) == -(-len(index) // 96)


def test_weighted_sampler_draws_classes_evenly(sim_dir: Path) -> None:
    index = build_index(expand_paths([sim_dir]), TASKS["numu-cc"])
    counts = np.bincount(index.target, minlength=2)
    assert counts.min() < 0.4 * counts.sum()  # the files are unbalanced to start with
    dataset = _dataset(index, draw_weights=sampling_weights(index.target, 2))
    drawn = index.target[np.concatenate([dataset.epoch_plan() for dataset.epoch in range(5)])]
    assert np.mean(drawn) == pytest.approx(0.5, abs=0.03)


def test_mirror_x_flips_half_of_the_xz_views_only(sim_dir: Path) -> None:
    files = expand_paths([sim_dir])[:1]
    index = build_index(files, TASKS["numu-cc"])
    maps = read_file(files[0]).maps
    batches = list(_dataset(index, mirror_x=True, batch_size=300))
    flipped = 0
    for batch in batches:
        for x, p in zip(batch["x"].numpy(), batch["pos"].numpy(), strict=True):
            original = maps[index.row[p]]
            assert np.array_equal(x[1], original[1])  # the y–z view is never mirrored
            mirrored = np.array_equal(x[0], original[0, :, ::-1])
            assert mirrored or np.array_equal(x[0], original[0])
            flipped += mirrored and not np.array_equal(original[0], original[0, :, ::-1])
    assert 0.35 * len(index) < flipped < 0.65 * len(index)


# ----------------------------------------------------------------------------------------------------------
# Several tasks at once (a multi-task run)

ALL = tuple(TASKS.values())


def test_a_multitask_index_holds_every_task_and_marks_unused_events(odd_file: Path) -> None:
    index = build_index([odd_file], ALL)
    assert len(index) == 120 and list(index.targets) == list(TASKS)  # numu-cc uses every event
    with pytest.raises(ConfigError, match="no single target"):
        _ = index.target
    for name, task in TASKS.items():
        single = build_index([odd_file], task)
        used = np.isin(index.row, single.row)
        assert np.array_equal(index.targets[name][used], single.target)
        unused = index.targets[name][~used]
        assert np.all(np.isnan(unused)) if task.kind == "regression" else np.all(unused == -1)
    assert np.isnan(index.targets["energy"][:10]).all()  # code 15, no energy: the regressions skip it
    assert (index.targets["mode"][:20] == -1).all()  # mode leaves out other and cosmics


def test_multitask_batches_carry_a_target_per_task(odd_file: Path) -> None:
    index = build_index([odd_file], ALL)
    batch = next(iter(StreamingDataset(index, ALL, batch_size=120, shuffle=False)))
    assert set(batch["y"]) == set(TASKS) and batch["x"].dtype == torch.uint8
    energy = batch["y"]["energy"].numpy()
    assert np.isnan(energy[:10]).all()
    assert np.allclose(energy, np.log(index.targets["energy"]), equal_nan=True)


def test_multitask_preparation_keeps_each_tasks_test_sets_and_balances_per_task(sim_dir: Path) -> None:
    from nuclass.data import prepare_data
    from nuclass.labels.selection import EventSelection

    split = {"train": expand_paths([sim_dir])[:2], "val": expand_paths([sim_dir])[2:3],
             "test": expand_paths([sim_dir])[3:]}
    common = {"seed": 3, "selection": EventSelection()}
    multi = prepare_data(split, ALL, balance="weights", **common)
    assert set(multi.class_weights) == {"numu-cc", "nue-cc", "flavour", "mode"}
    assert set(multi.target_stats) == {"energy", "y"}
    for name, task in TASKS.items():
        single = prepare_data(split, task, balance="weights" if task.is_classification else "none", **common)
        for test_set in ("natural", "balanced"):  # the same test events as a one-task run's, in order
            mine = multi.test_sets[name][test_set]
            theirs = single.test_sets[name][test_set]
            assert np.array_equal(multi.test.row[mine], single.test.row[theirs]), (name, test_set)
            assert np.array_equal(multi.test.file_id[mine], single.test.file_id[theirs])
        if task.is_classification:  # per-task class weights: those of the task's own training events
            assert multi.class_weights[name] == pytest.approx(single.class_weights[name])
        else:
            assert multi.target_stats[name] == pytest.approx(single.target_stats[name])
    assert len(multi.train) == len(build_index(split["train"], ALL))  # weights: nothing dropped or drawn
    with pytest.raises(ConfigError, match="undersample' needs one task"):
        prepare_data(split, ALL, balance="undersample", **common)


def test_the_joint_label_sampler_draws_every_label_combination_equally(sim_dir: Path) -> None:
    from nuclass.data.prepare import joint_sampling_weights

    index = build_index(expand_paths([sim_dir]), ALL)
    p = joint_sampling_weights(index, ALL)
    joint = np.stack([index.targets[t.name] for t in ALL if t.is_classification], axis=1)
    _, combo = np.unique(joint, axis=0, return_inverse=True)
    per_combo = np.bincount(combo.ravel(), weights=p)
    assert p.sum() == pytest.approx(1.0)
    assert per_combo == pytest.approx(np.full(len(per_combo), 1 / len(per_combo)))
