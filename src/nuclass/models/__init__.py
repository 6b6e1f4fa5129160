"""The networks: a registry of models by name with their training recipes (`registry`), the seeds'
baselines (`baselines`), nuclass's `cvn`, and a network bound to its task (`network`)."""

from nuclass.models.registry import Recipe, create_model, list_models, register_model

__all__ = ["Recipe", "register_model", "create_model", "list_models"]
