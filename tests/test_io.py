"""The NOvA file reader and writer: every layout DESIGN §1 allows reads back exactly; every fault is a
FormatError naming the file and the field; nuclass's own files are what the seed notebooks read."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import make_events
from nuclass.errors import FormatError
from nuclass.io import Events, iter_batches, nova_h5, read_file, read_truth, validate_file, write_file
from nuclass.io.nova_h5 import MAP_SHAPE
from nuclass.labels.truth import TRUTH_DTYPES

N = 150


def _truth(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The real files' 16 truth fields with their real dtypes and plausible values."""
    rng = np.random.default_rng(seed)
    interaction = rng.choice([0, 1, 2, 3, 5, 13, 15], size=n)
    nuenergy = rng.lognormal(2.0, 0.8, n)
    nuenergy[interaction == 15] = 0
    lepenergy = nuenergy * rng.uniform(0, 1, n)
    values = {
        "cycle": rng.integers(-5, 5, n),
        "evt": np.arange(1, n + 1),
        "finalstate": rng.integers(0, 50, n),
        "finalstateprong": rng.integers(0, 14, n),
        "interaction": interaction,
        "lepenergy": lepenergy,
        "nuenergy": nuenergy,
        "parent": rng.choice([0, 1, 3, 4], n),
        "particles": rng.integers(0, 5000, n),
        "rec.training.trainingdata_idx": np.arange(n),
        "run": np.full(n, 12345),
        "subevt": rng.integers(0, 3, n),
        "subrun": rng.integers(0, 64, n),
        "vtxx": rng.uniform(-180, 180, n),
        "vtxy": rng.uniform(-180, 180, n),
        "vtxz": rng.uniform(0, 1200, n),
    }
    return {name: values[name].astype(dtype) for name, dtype in TRUTH_DTYPES.items()}


def _maps(n: int, seed: int = 0) -> np.ndarray:
    """(n, 16000) uint8 sparse maps, every event with lit pixels, some at 255."""
    rng = np.random.default_rng(seed)
    maps = np.zeros((n, 16000), np.uint8)
    for i in range(n):
        lit = rng.choice(16000, size=rng.integers(20, 300), replace=False)
        maps[i, lit] = rng.integers(1, 256, size=len(lit))
    return maps


def _write_raw(
    path: Path,
    maps: np.ndarray,
    truth: dict[str, np.ndarray],
    *,
    layout: str = "group-2d",
    maps_dtype: str = "uint8",
    chunks: tuple[int, int] | None = None,
    compression: str | None = None,
) -> Path:
    """Write a file with plain h5py, the way another tool might have."""
    with h5py.File(path, "w") as f:
        f.create_dataset("cvnmap", data=maps.astype(maps_dtype), chunks=chunks, compression=compression)
        if layout == "compound":
            table = np.empty(len(maps), dtype=[(k, v.dtype) for k, v in truth.items()])
            for k, v in truth.items():
                table[k] = v
            f.create_dataset("neutrino", data=table, chunks=chunks and (chunks[0],), compression=compression)
        else:
            group = f.create_group("neutrino")
            for k, v in truth.items():
                group.create_dataset(k, data=v.reshape(-1, 1) if layout == "group-2d" else v)
    return path


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return _maps(N), _truth(N)


def _assert_reads_back(events: Events, maps: np.ndarray, truth: dict[str, np.ndarray]) -> None:
    assert events.maps.shape == (len(maps), *MAP_SHAPE)
    assert events.maps.dtype == np.uint8
    np.testing.assert_array_equal(events.maps.reshape(len(maps), -1), maps)
    # view 0 / plane 0 / cell 0 is the first value of a row; view 1 starts at 8,000
    assert events.maps[7, 1, 0, 0] == maps[7, 8000]
    assert events.maps[7, 0, 3, 5] == maps[7, 3 * 80 + 5]
    for name, values in truth.items():
        assert events.meta[name].ndim == 1
        np.testing.assert_array_equal(events.meta[name], values, err_msg=name)
    assert events.meta["interaction"].dtype == np.int64
    assert events.meta["nuenergy"].dtype == np.float32


# ---------------------------------------------------------------- layouts that must read back exactly


LAYOUTS = [
    pytest.param({"layout": "group-2d"}, id="group-(N,1)-contiguous"),
    pytest.param({"layout": "group-1d"}, id="group-(N,)"),
    pytest.param({"layout": "compound"}, id="compound-table"),
    pytest.param({"layout": "compound", "chunks": (32, 16000), "compression": "gzip"}, id="compound-gzip"),
    pytest.param({"maps_dtype": "float32"}, id="float32-maps"),
    pytest.param({"maps_dtype": "float64", "chunks": (10, 16000), "compression": "lzf"}, id="float64-lzf"),
    pytest.param({"maps_dtype": "int16"}, id="int16-maps"),
    pytest.param({"chunks": (64, 16000)}, id="chunked-uncompressed"),
    pytest.param({"chunks": (64, 16000), "compression": "gzip"}, id="chunked-gzip"),
    pytest.param({"chunks": (7, 16000), "compression": "lzf"}, id="chunked-lzf-odd"),
    pytest.param({"chunks": (110, 500), "compression": "gzip"}, id="h5py-auto-chunks-split-rows"),
    pytest.param({"chunks": (1, 16000), "compression": "gzip"}, id="one-event-chunks"),
]


@pytest.mark.parametrize("options", LAYOUTS)
def test_every_layout_reads_back_what_was_written(tmp_path, data, options):
    maps, truth = data
    path = _write_raw(tmp_path / "f.h5", maps, truth, **options)
    events = read_file(path)
    _assert_reads_back(events, maps, truth)
    assert events.source == path and events.start == 0
    assert set(read_truth(path)) == set(truth)
    assert validate_file(path) == N
    _assert_reads_back(Events.concatenate(list(iter_batches([path], batch_size=40))), maps, truth)


@pytest.mark.parametrize("options", [*LAYOUTS, pytest.param({"chunks": (32, 16000), "compression": "gzip",
                                                              "shuffle": True}, id="gzip-shuffle")])
def test_chunk_by_chunk_reads_give_the_file(tmp_path, data, options):
    """MapReader.read_chunk, straight from the stored bytes (gzip or raw chunks of whole rows) or through
    h5py (any other layout), concatenates to the file's maps; the last chunk is short."""
    maps, truth = data
    shuffle = options.pop("shuffle", False)
    path = _write_raw(tmp_path / "f.h5", maps, truth, **options)
    if shuffle:
        with h5py.File(path, "a") as f:
            del f["cvnmap"]
            f.create_dataset("cvnmap", data=maps, chunks=options["chunks"], compression="gzip", shuffle=True)
    with nova_h5.MapReader(path) as reader:
        if reader.chunk_events is None or options.get("chunks", (0, 0))[1] != 16000:
            return  # contiguous, or chunks that split rows: read by row ranges only
        chunk = reader.chunk_events
        parts = [reader.read_chunk(k) for k in range(-(-N // chunk))]
    assert all(p.shape[1:] == MAP_SHAPE and p.dtype == np.uint8 for p in parts)
    assert len(parts[-1]) == N - chunk * (len(parts) - 1)
    np.testing.assert_array_equal(np.concatenate(parts).reshape(N, -1), maps)


def test_a_chunk_that_does_not_inflate_is_a_format_error(tmp_path, data):
    maps, truth = data
    path = _write_raw(tmp_path / "f.h5", maps, truth, chunks=(32, 16000), compression="gzip")
    with h5py.File(path, "a") as f:
        f["cvnmap"].id.write_direct_chunk((32, 0), b"not deflate data")
    with nova_h5.MapReader(path) as reader:
        assert reader.read_chunk(0).shape == (32, *MAP_SHAPE)
        with pytest.raises(FormatError, match="cvnmap.*unreadable.*chunk 1"):
            reader.read_chunk(1)


def test_extra_fields_are_ignored(tmp_path, data):
    maps, truth = data
    path = _write_raw(tmp_path / "f.h5", maps, truth)
    with h5py.File(path, "a") as f:
        f["neutrino/vertex"] = np.zeros((N, 3))  # not a column: skipped
        f["neutrino/weight"] = np.ones(N, np.float32)  # an unknown column: kept
        f["neutrino/short"] = np.ones(N - 1, np.float32)  # an unknown field of another length: skipped
        f["neutrino/sub/deeper"] = np.ones(N)  # a group inside the truth: skipped
        f["rec.hdr"] = np.arange(N)  # another top-level table
        f["simtruth/visible"] = np.ones(N)
    events = read_file(path)
    _assert_reads_back(events, maps, truth)
    assert set(events.meta) == set(truth) | {"weight"}


def test_only_the_five_required_fields_are_needed(tmp_path, data):
    maps, truth = data
    required = {k: truth[k] for k in ("evt", "interaction", "finalstate", "nuenergy", "lepenergy")}
    events = read_file(_write_raw(tmp_path / "f.h5", maps, required, layout="group-1d"))
    _assert_reads_back(events, maps, required)


def test_float_maps_are_rounded_to_the_nearest_count(tmp_path, data):
    maps, truth = data
    near = np.where(maps < 255, maps + 0.3, maps - 0.4).astype(np.float32)
    path = _write_raw(tmp_path / "f.h5", near, truth, maps_dtype="float32")
    np.testing.assert_array_equal(read_file(path).maps.reshape(N, -1), maps)


def test_large_chunks_get_a_cache_that_holds_them(tmp_path, data):
    """A file chunked in blocks bigger than the default cache still reads every batch correctly."""
    maps, truth = data
    path = _write_raw(
        tmp_path / "f.h5",
        np.tile(maps, (4, 1)),
        {k: np.tile(v, 4) for k, v in truth.items()},
        chunks=(600, 16000),
        compression="gzip",
    )
    with nova_h5._open_maps(path, batch_size=100) as (f, _):
        assert f.id.get_access_plist().get_cache()[2] >= 600 * 16000
    with nova_h5._open_maps(path) as (f, _):  # whole-chunk reads need no cache
        assert f.id.get_access_plist().get_cache()[2] == 0
    batches = list(iter_batches([path], batch_size=100))
    assert [len(b) for b in batches] == [100] * 6
    joined = np.concatenate([b.maps for b in batches]).reshape(600, -1)
    np.testing.assert_array_equal(joined, np.tile(maps, (4, 1)))


# ---------------------------------------------------------------- faults: a FormatError naming file and field


def _fault(tmp_path: Path, data, name: str) -> Path:
    """A file with one fault, by name."""
    maps, truth = data
    path = tmp_path / f"{name}.h5"
    truth = dict(truth)
    if name == "no-cvnmap":
        _write_raw(path, maps, truth)
        with h5py.File(path, "a") as f:
            del f["cvnmap"]
            f["cvnmaps"] = maps
    elif name == "no-neutrino":
        with h5py.File(path, "w") as f:
            f["cvnmap"] = maps
            f["truth/interaction"] = truth["interaction"]
    elif name == "no-interaction":
        del truth["interaction"]
        _write_raw(path, maps, truth)
    elif name == "width-8000":
        _write_raw(path, maps[:, :8000], truth)
    elif name == "maps-3d":
        with h5py.File(path, "w") as f:
            f["cvnmap"] = maps.reshape(N, 2, 8000)
    elif name == "length-mismatch":
        truth["interaction"] = truth["interaction"][:-1]
        _write_raw(path, maps, truth)
    elif name == "interaction-16":
        truth["interaction"] = truth["interaction"].copy()
        truth["interaction"][5] = 16  # kNIntType, a vector size
        _write_raw(path, maps, truth)
    elif name == "finalstate-50":
        truth["finalstate"] = truth["finalstate"].copy()
        truth["finalstate"][9] = 50  # kNFStType
        _write_raw(path, maps, truth, layout="compound")
    elif name == "nan-energy":
        truth["nuenergy"] = truth["nuenergy"].copy()
        truth["nuenergy"][3] = np.nan
        _write_raw(path, maps, truth)
    elif name == "negative-energy":
        truth["lepenergy"] = truth["lepenergy"].copy()
        truth["lepenergy"][4] = -1.5
        _write_raw(path, maps, truth, layout="group-1d")
    elif name == "float-map-300":
        bad = maps.astype(np.float32)
        bad[11, 123] = 300.0
        _write_raw(path, bad, truth, maps_dtype="float32")
    elif name == "string-maps":
        with h5py.File(path, "w") as f:
            f["cvnmap"] = np.full((N, 16000), b"x", dtype="S1")
    return path


FAULTS = [
    # name, field named in the message, words the message must hold
    ("no-cvnmap", "cvnmap", ["missing", "present: cvnmaps, neutrino"]),
    ("no-neutrino", "neutrino", ["missing", "cvnmap", "truth"]),
    ("no-interaction", "neutrino/interaction", ["missing", "neutrino/finalstate"]),
    ("width-8000", "cvnmap", ["16000", "(150, 8000)"]),
    ("maps-3d", "cvnmap", ["16000", "(150, 2, 8000)"]),
    ("length-mismatch", "neutrino/interaction", ["150 rows", "149"]),
    ("interaction-16", "neutrino/interaction", ["codes 0–15", "16", "row 5"]),
    ("finalstate-50", "neutrino/finalstate", ["codes 0–49", "50", "row 9"]),
    ("nan-energy", "neutrino/nuenergy", ["nan", "row 3"]),
    ("negative-energy", "neutrino/lepenergy", ["-1.5", "row 4"]),
    ("float-map-300", "cvnmap", ["0–255", "300", "row 11"]),
    ("string-maps", "cvnmap", ["dtype"]),
]


@pytest.mark.parametrize(
    "reader",
    [read_file, validate_file, lambda p: list(iter_batches([p]))],
    ids=["read_file", "validate_file", "iter_batches"],
)
@pytest.mark.parametrize("name, field, words", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_a_format_error_naming_file_and_field(tmp_path, data, reader, name, field, words):
    path = _fault(tmp_path, data, name)
    with pytest.raises(FormatError) as info:
        reader(path)
    error = info.value
    message = str(error)
    assert error.path == str(path) and error.field == field
    assert message.startswith(f"{path}: field '{field}': expected ")
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("name", ["no-interaction", "length-mismatch", "interaction-16", "nan-energy"])
def test_read_truth_checks_the_truth_without_the_maps(tmp_path, data, name):
    with pytest.raises(FormatError, match="neutrino/"):
        read_truth(_fault(tmp_path, data, name))


def test_truncated_file(tmp_path, data):
    maps, truth = data
    whole = _write_raw(tmp_path / "whole.h5", maps, truth, chunks=(16, 16000), compression="gzip")
    raw = whole.read_bytes()
    path = tmp_path / "half.h5"
    path.write_bytes(raw[: len(raw) // 2])
    for reader in (read_file, validate_file, read_truth):
        with pytest.raises(FormatError) as info:
            reader(path)
        assert str(info.value) == (
            f"{path}: expected a complete HDF5 file, got truncated ({len(raw) // 2:,} of {len(raw):,} bytes)"
        )


def test_text_file_is_not_hdf5(tmp_path):
    path = tmp_path / "neutrino1.h5"
    path.write_text("<html><body>404 Not Found</body></html>\n")
    with pytest.raises(FormatError) as info:
        validate_file(path)
    assert str(info.value) == f"{path}: expected an HDF5 file, got no HDF5 signature (not an HDF5 file)"


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(FormatError, match=r"neutrino7\.h5: expected an existing file, got no such file"):
        read_file(tmp_path / "neutrino7.h5")
    with pytest.raises(FormatError, match="expected a file, got a directory"):
        list(iter_batches([tmp_path]))


def test_fault_in_a_later_file_comes_after_the_good_files_batches(tmp_path, data):
    maps, truth = data
    good = _write_raw(tmp_path / "good.h5", maps, truth)
    bad = _fault(tmp_path, data, "nan-energy")
    seen = []
    with pytest.raises(FormatError, match="nan-energy.h5"):
        for batch in iter_batches([good, bad], batch_size=100):
            seen.append(len(batch))
    assert seen == [100, 50]


# ---------------------------------------------------------------- write_file


def test_write_read_round_trip(tmp_path):
    sim = make_events(200, seed=3)
    required = ("evt", "interaction", "finalstate", "nuenergy", "lepenergy")
    events = Events(
        sim.maps,
        {k: sim.meta[k] for k in required},
        extra={"visible_energy": np.linspace(0, 5, 200, dtype=np.float32)},
    )
    path = write_file(tmp_path / "neutrino1.h5", events)
    back = read_file(path)
    np.testing.assert_array_equal(back.maps, events.maps)
    for name, values in events.meta.items():
        expected = np.asarray(values).astype(TRUTH_DTYPES[name])
        np.testing.assert_array_equal(back.meta[name], expected, err_msg=name)
    assert set(back.meta) == set(TRUTH_DTYPES)  # fields absent from events.meta are written as zeros
    assert not back.meta["vtxz"].any()
    assert "visible_energy" not in back.meta and not back.extra  # extra truth is not pipeline input
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["simtruth/visible_energy"][()], events.extra["visible_energy"])


@pytest.mark.parametrize("compression", [None, "gzip", "lzf"])
def test_written_layout_is_what_the_seed_notebooks_read(tmp_path, compression):
    events = make_events(130, seed=1)
    path = write_file(tmp_path / "neutrino1.h5", events, compression=compression, chunk_events=32)
    with h5py.File(path, "r") as f:
        assert set(f) - {"simtruth"} == {"cvnmap", "neutrino"}  # simulator truth, if any, apart
        assert f["cvnmap"].shape == (130, 16000) and f["cvnmap"].dtype == np.uint8
        assert f["cvnmap"].chunks == (32, 16000)
        assert f["cvnmap"].compression == compression
        assert set(f["neutrino"]) == set(TRUTH_DTYPES)
        for name, dtype in TRUTH_DTYPES.items():
            assert f["neutrino"][name].shape == (130, 1), name
            assert f["neutrino"][name].dtype == dtype, name
        # the seeds' own loop, unchanged
        for i in (0, 77, 129):
            image = f["cvnmap"][i].reshape((2, 100, 80))
            np.testing.assert_array_equal(image, events.maps[i])
            code = f["neutrino"]["interaction"][i]
            assert code.shape == (1,) and code[0] == events.meta["interaction"][i]
            assert bool(f["neutrino"]["interaction"][i] <= 3) == (events.meta["interaction"][i] <= 3)
            assert f["neutrino"]["nuenergy"][i][0] == pytest.approx(float(events.meta["nuenergy"][i]))


def test_default_layout_is_chunked_and_compressed(tmp_path):
    path = write_file(tmp_path / "neutrino1.h5", make_events(300, seed=2))
    with h5py.File(path) as f:
        assert f["cvnmap"].chunks == (nova_h5.DEFAULT_CHUNK_EVENTS, 16000)
        assert f["cvnmap"].compression == nova_h5.DEFAULT_COMPRESSION
    assert path.stat().st_size < 300 * 16000 / 5  # sparse maps compress at least 5×


def test_write_leaves_only_the_target(tmp_path):
    write_file(tmp_path / "neutrino1.h5", make_events(50))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neutrino1.h5"]


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "neutrino1.h5"
    write_file(path, make_events(40, seed=1))
    before = path.read_bytes()
    made = []
    create = h5py.Group.create_dataset

    def failing(self, name, *args, **kwargs):
        made.append(name)
        if name == "interaction":  # fail half-way, with cvnmap already in the temporary file
            raise OSError("disk full")
        return create(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        write_file(path, make_events(60, seed=2))
    assert "cvnmap" in made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neutrino1.h5"]
    assert path.read_bytes() == before
    with pytest.raises(OSError, match="disk full"):
        write_file(tmp_path / "neutrino2.h5", make_events(60, seed=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neutrino1.h5"]


@pytest.mark.parametrize(
    "maps", [np.zeros((5, 16000), np.uint8), np.zeros((5, 2, 100, 80), np.float32)], ids=["flat", "float"]
)
def test_write_rejects_bad_maps_before_touching_disk(tmp_path, maps):
    events = Events(maps, {"interaction": np.zeros(5)})
    with pytest.raises(ValueError, match=r"\(N, 2, 100, 80\) uint8"):
        write_file(tmp_path / "neutrino1.h5", events)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- iter_batches


@pytest.fixture(scope="module")
def two_files(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("batches")
    return [
        write_file(out / "neutrino1.h5", make_events(300, seed=1), chunk_events=64),
        write_file(out / "neutrino2.h5", make_events(130, seed=2), compression=None, chunk_events=13),
    ]


@pytest.mark.parametrize(
    "batch_size, sizes",
    [
        (4096, [300, 130]),
        (128, [128, 128, 44, 117, 13]),  # rounded down to whole chunks: 64 events in file 1, 13 in file 2
        (100, [64] * 4 + [44, 91, 39]),
        (50, [50] * 6 + [39, 39, 39, 13]),  # smaller than a chunk (file 1): exactly the batch size
    ],
)
def test_batch_sizes_sources_and_starts(two_files, batch_size, sizes):
    batches = list(iter_batches(two_files, batch_size=batch_size))
    assert [len(b) for b in batches] == sizes
    n1 = sum(len(b) for b in batches if b.source == two_files[0])
    assert n1 == 300
    for b in batches:
        assert len(b.meta["interaction"]) == len(b.maps) <= batch_size
    starts = [(b.source.name, b.start) for b in batches]
    expected, offset = [], {}
    for b in batches:
        expected.append((b.source.name, offset.get(b.source.name, 0)))
        offset[b.source.name] = offset.get(b.source.name, 0) + len(b)
    assert starts == expected


def test_batches_concatenate_to_read_file(two_files):
    whole = Events.concatenate([read_file(p) for p in two_files])
    joined = Events.concatenate(list(iter_batches(two_files, batch_size=70)))
    np.testing.assert_array_equal(joined.maps, whole.maps)
    assert set(joined.meta) == set(whole.meta)
    for name in whole.meta:
        np.testing.assert_array_equal(joined.meta[name], whole.meta[name])
    first = next(iter_batches(two_files[1:], batch_size=70))
    assert len(first) == 65  # five whole 13-event chunks
    np.testing.assert_array_equal(first.maps, read_file(two_files[1]).maps[:65])


def test_iter_batches_holds_one_batch_of_maps_at_a_time(tmp_path):
    n, batch = 1200, 100
    path = write_file(tmp_path / "big.h5", make_events(n, seed=5), chunk_events=50)
    tracemalloc.start()
    try:
        for events in iter_batches([path], batch_size=batch):
            assert events.maps.nbytes <= batch * 16000
            del events
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the file's maps are 19.2 MB; one batch is 1.6 MB (two may be alive while the next is read)
    assert peak < 3 * batch * 16000 + 1_000_000, peak


def test_batch_size_must_be_positive(sim_file):
    with pytest.raises(ValueError, match="batch_size"):
        next(iter_batches([sim_file], batch_size=0))
