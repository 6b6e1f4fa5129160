"""Evaluation of trained runs: the metrics of a test set (`metrics`), performance against the truth
(`truth`), and a run directory's metrics.json and plots (`run`)."""

from nuclass.evaluation.metrics import (
    bias,
    bias_error,
    efficiency_purity_curve,
    json_ready,
    metrics_for,
    per_event_loss,
    relative_residual,
    resolution,
    resolution_error,
)
from nuclass.evaluation.run import evaluate_run
from nuclass.evaluation.truth import dependence_summary, format_metric, quantile_edges, seed_questions

__all__ = [
    "efficiency_purity_curve",
    "relative_residual",
    "bias",
    "resolution",
    "bias_error",
    "resolution_error",
    "per_event_loss",
    "metrics_for",
    "json_ready",
    "quantile_edges",
    "format_metric",
    "dependence_summary",
    "seed_questions",
    "evaluate_run",
]
