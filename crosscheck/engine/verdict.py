"""One view of a verdict: what each tensor's comparison means, and how every rendering marks it.

Each tensor of a candidate is, in computation order, exactly one of

    agrees        within its tolerance of the reference                                           ✓
    differs       a mistake of its own: the first divergence, or a later one that is not inherited   ✗
    inherited     wrong only because an earlier tensor is: the lecture's formula, applied to the
                  candidate's own upstream tensors, gives it (crosscheck.engine.tensors decides)   ↳
    not provided  the candidate did not return it, and it was not required                        –

The terminal table, the notebook's HTML, Gradescope's Markdown, the pytest items and the API's assertion message
all read these, with these marks and this legend; none works a verdict out for itself.
"""
AGREES, DIFFERS, INHERITED, NOT_PROVIDED = "agrees", "differs", "inherited", "not provided"
MARKS = {AGREES: "✓", DIFFERS: "✗", INHERITED: "↳", NOT_PROVIDED: "–"}
MEANINGS = {AGREES: "within tolerance", DIFFERS: "not",
            INHERITED: "fails only because of an earlier ✗ (fix that one first)", NOT_PROVIDED: "not provided"}
LEGEND = ", ".join(f"{MARKS[kind]} {MEANINGS[kind]}" for kind in MARKS)
# a probe: every tensor agrees, one does not, the code failed on it (raised, timed out, …), or it was not run
PROBE_OK, PROBE_MISMATCH, PROBE_FAILED, PROBE_SKIPPED = "ok", "mismatch", "failed", "skipped"
PROBE_MARKS = {PROBE_OK: "✓", PROBE_MISMATCH: "✗", PROBE_FAILED: "✗", PROBE_SKIPPED: "–"}


def of(comparison):
    """The verdict on one tensor's Comparison: agrees, differs, inherited or not provided."""
    if comparison.ok is None:
        return NOT_PROVIDED
    if comparison.ok:
        return AGREES
    return INHERITED if comparison.downstream else DIFFERS


def mark(comparison):
    return MARKS[of(comparison)]


def counts(comparisons):
    """{verdict: how many tensors}, every verdict present (0 where none)."""
    found = dict.fromkeys(MARKS, 0)
    for c in comparisons:
        found[of(c)] += 1
    return found
