"""A trained network as ONNX: one graph from raw uint8 maps to every head's scores, with the input
transform inside it and the tasks, class names and nuclass version in its metadata."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nuclass.atomic import atomic_path
from nuclass.errors import ConfigError
from nuclass.predict import load_model

__all__ = ["INPUT_NAME", "export_onnx", "output_names", "onnx_metadata"]

INPUT_NAME = "maps"  # (batch, 2, 100, 80) uint8: raw charge, view 0 the x–z view, planes × cells
OPSET = 18


def output_names(task_names: tuple[str, ...] | list[str]) -> list[str]:
    """The graph's output names, one per head: the task names with '-' as '_' (valid identifiers)."""
    return [name.replace("-", "_") for name in task_names]


def onnx_metadata(network: Any, info: Mapping[str, Any]) -> dict[str, str]:
    """metadata_props of the exported graph (strings): what the input is, and per output its task, kind,
    class names and unit."""
    import nuclass

    meaning = {"binary": "P(class 1)", "multiclass": "class probabilities (softmax)"}
    heads = {
        out: {"task": t.name, "kind": t.kind, "class_names": list(t.class_names), "unit": t.unit,
              "shape": "(batch,)" if t.kind == "regression" else f"(batch, {t.n_outputs})",
              "meaning": meaning.get(t.kind, f"predicted {t.quantity or t.class_names[0]} {t.unit}".strip())}
        for out, t in zip(output_names(network.task_names), network.tasks, strict=True)
    }
    return {
        "nuclass_version": nuclass.__version__,
        "model": str(info.get("model", "")),
        "task": str(info.get("task", "")),
        "input": f"{INPUT_NAME}: (batch, 2, 100, 80) uint8 raw charge (8-bit ADC, as in the files' cvnmap "
        f"reshaped to (view, plane, cell)); the pixel transform ({network.recipe.pixel_transform}) and the "
        "x-mirror averaging are inside the graph",
        "pixel_transform": network.recipe.pixel_transform,
        "outputs": json.dumps(heads, ensure_ascii=False),
    }


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter's log lines about optional operator libraries (torchvision) and torch's own deprecation
    warning are not for our users."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated", FutureWarning)  # torch 2.13's own
            yield
    finally:
        logger.setLevel(level)


def export_onnx(model_dir: str | os.PathLike, out: str | os.PathLike) -> Path:
    """The network of `model_dir` (a run, or the shipped model's folder) as one ONNX file `out` (weights
    inside it, written atomically): input `maps` (batch, 2, 100, 80) uint8 with a dynamic batch, one
    output per head (see output_names) holding its scores as predict gives them."""
    import torch

    from nuclass.models.network import ScoringNetwork

    try:
        import onnx
    except ImportError:
        raise ConfigError("ONNX export needs the onnx and onnxscript packages (pip install onnx "
                          "onnxscript)") from None
    network, _, info = load_model(model_dir)
    graph = ScoringNetwork(network).eval()
    example = torch.zeros(4, 2, 100, 80, dtype=torch.uint8)
    out = Path(out)
    with atomic_path(out) as tmp, _quiet_exporter():
        program = torch.onnx.export(
            graph,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=output_names(network.task_names),
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
        model = program.model_proto
        for key, value in onnx_metadata(network, info).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        model.doc_string = "nuclass network: raw uint8 maps -> every head's scores (see metadata_props)"
        onnx.save_model(model, str(tmp))
    return out
