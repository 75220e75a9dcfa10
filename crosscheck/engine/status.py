"""The one status every outcome has, and the record of what happened to one framework.

    ok            checked, and it agrees with the reference
    mismatch      checked, and it does not (or it failed part-way through its work)
    unavailable   not checked: the framework is not installed, cannot start, or cannot express the case
    error         not checked: our own adapter broke (a bug to report, not a verdict on the framework)
    not provided  a tensor a user's implementation did not return (per tensor, never per framework)
"""
from dataclasses import dataclass

OK, MISMATCH, UNAVAILABLE, ERROR, NOT_PROVIDED = "ok", "mismatch", "unavailable", "error", "not provided"
CHECKED = (OK, MISMATCH)


@dataclass
class Outcome:
    """What happened to one framework (or one implementation) in a check or a training comparison."""

    framework: str
    status: str = OK
    reason: str = None     # one line: why it is unavailable, why it failed
    info: dict = None      # what it ran on: version, device, threads, precision, …
    seconds: dict = None   # where its time went, e.g. {"import": 1.0, "check": 0.003}

    @property
    def ok(self):
        return self.status == OK

    @property
    def checked(self):
        return self.status in CHECKED


def nothing_checked(outcomes):
    """Why nothing was checked although something was asked for ({name: Outcome}, non-empty), or None.

    An empty mapping is a run that asked for nothing to be compared: that is what was asked, not a failure.
    """
    if not outcomes or any(o.checked for o in outcomes.values()):
        return None
    reasons = [o.reason if (o.reason or "").startswith(name) else f"{name} {o.status}: {o.reason}"
               for name, o in outcomes.items()]
    return "nothing was checked — " + "; ".join(reasons)
