"""Figures, drawn without pyplot and written as PNG atomically: events (`events`), a test set's performance
(`metrics`), a training (`training`), everything of a run (`run`) and of a study (`study`)."""

from nuclass.plots.events import CHARGE_LABEL, class_distributions, display_event, display_grid, event_caption

__all__ = ["display_event", "display_grid", "class_distributions", "event_caption", "CHARGE_LABEL"]
