"""The classic-bug catalogue: a correct implementation (steps.py), the mistakes as one-step mutations of it
(catalogue.py), and the docs page generated from both (docs.py)."""
from crosscheck.bugs.catalogue import (
           BUGS,
           BY_NAME,
           Bug,
           BugResult,
           Scenario,
           TrainingScenario,
           check_impl,
           check_scenario,
           check_training,
           run_bug,
           run_catalogue,
)
from crosscheck.bugs.docs import DOC_PATH, markdown, step_source
from crosscheck.bugs.steps import STEPS, backprop, make_backprop, make_train

__all__ = ["BUGS", "BY_NAME", "DOC_PATH", "STEPS", "Bug", "BugResult", "Scenario", "TrainingScenario", "backprop",
           "check_impl", "check_scenario", "check_training", "make_backprop", "make_train", "markdown", "run_bug",
           "run_catalogue", "step_source"]
