"""Evaluation of trained runs: the metrics of a test set (`metrics`), performance against the truth
(`truth`), and a run directory's metrics.json and plots (`run`)."""

from nuclass.evaluation.metrics import bias, json_ready, metrics_for, resolution
from nuclass.evaluation.run import evaluate_run
from nuclass.evaluation.truth import format_metric

__all__ = ["evaluate_run", "metrics_for", "format_metric", "bias", "resolution", "json_ready"]
