"""The classic-bug catalogue: a correct implementation (steps.py), the mistakes as one-step mutations of it
(catalogue.py), and the docs page generated from both (docs.py)."""
from .catalogue import BUGS, BY_NAME, Bug, Outcome, Scenario, check_impl, check_scenario, run_bug, run_catalogue
from .docs import DOC_PATH, markdown, step_source
from .steps import STEPS, backprop, make_backprop

__all__ = ["BUGS", "BY_NAME", "DOC_PATH", "STEPS", "Bug", "Outcome", "Scenario", "backprop", "check_impl",
           "check_scenario", "make_backprop", "markdown", "run_bug", "run_catalogue", "step_source"]
