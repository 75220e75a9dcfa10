"""Stands in for the course's planar_utils (the planar data classification week): its sigmoid.  The week's data
and plots are not needed by the check: load_planar_dataset, load_extra_datasets and plot_decision_boundary are
here so that the notebook's import line works, and raise when called (a cell that calls one is skipped)."""
import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x))."""
    return 1.0 / (1.0 + np.exp(-x))


# each stand-in is imported alone, under the course's module name: it shares no code, so this helper is its own
def _unavailable(name, what):
    def unavailable(*args, **kwargs):
        raise RuntimeError(f"{name}: {what} is not part of crosscheck's stand-in for the course's module")
    unavailable.__name__ = name
    return unavailable


load_planar_dataset = _unavailable("load_planar_dataset", "the week's data")
load_extra_datasets = _unavailable("load_extra_datasets", "the week's data")
plot_decision_boundary = _unavailable("plot_decision_boundary", "plotting")
