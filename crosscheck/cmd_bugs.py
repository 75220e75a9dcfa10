"""crosscheck bugs — the catalogue of classic backprop mistakes (crosscheck/bugs.py), each run through the
same checks as --impl: is it caught, at which tensor, with which hint, and which lecture line it breaks.

This is the proof that the checks can fail.  Exit code 0 when every bug is caught at the tensor the
catalogue predicts and the correct implementation passes on every bug's problem, 1 otherwise, 2 on bad input.
"""
from . import options
from .bugs import BUGS, BY_NAME, markdown, run_catalogue
from .console import paint, table, use_colour
from .errors import UsageError


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="BUG", help="only these bugs (default: the whole catalogue)")
    output = parser.add_mutually_exclusive_group()
    options.add_json_argument(output)
    output.add_argument("--markdown", action="store_true",
                        help="print the 'why are my gradients wrong?' page (docs/why-are-my-gradients-wrong.md)")
    output.add_argument("--show", action="store_true",
                        help="print each bug's full tensor-by-tensor report, as `crosscheck --impl` would")
    parser.add_argument("--list", action="store_true", help="list the catalogue's names and titles, run nothing")


def run(args):
    bugs = select(args.names)
    if args.list:
        print(table(["bug", "mistake", "first shows in"], [[b.name, b.title, b.expected] for b in bugs]))
        return 0
    outcomes = run_catalogue(bugs)
    if args.json:
        options.emit_json([outcome.as_json() for outcome in outcomes])
    elif args.markdown:
        print(markdown(outcomes), end="")
    elif args.show:
        print("\n\n".join(show(bug) for bug in bugs))
    else:
        print(render(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def select(names):
    """The catalogued bugs by name, in catalogue order; all of them when no name is given."""
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise UsageError(f"no catalogued bug named {', '.join(unknown)}; `crosscheck bugs --list` names them all")
    return [bug for bug in BUGS if bug.name in names] if names else list(BUGS)


def render(outcomes, colour=None):
    """Per bug: caught or not, where, where the catalogue says, the lecture line; then each hint; then the verdict."""
    colour = use_colour() if colour is None else colour
    rows = []
    for i, outcome in enumerate(outcomes, 1):
        bug = outcome.bug
        if outcome.ok:
            status = paint("✓ caught", "green", enabled=colour)
        elif not outcome.detected:
            status = paint("✗ missed", "red", "bold", enabled=colour)
        elif outcome.first_divergence != bug.expected:
            status = paint("✗ elsewhere", "red", "bold", enabled=colour)
        else:
            status = paint("✗ control", "red", "bold", enabled=colour)
        rows.append([str(i), bug.name, status, outcome.first_divergence or "–", bug.expected, bug.breaks])
    lines = [paint(f"crosscheck bugs · {len(outcomes)} classic backprop mistakes, each a one-step mutation of a "
                   f"correct implementation, through the same checks as --impl", "bold", enabled=colour), "",
             table(["#", "bug", "result", "first ✗", "predicted", "the lecture's line it breaks"], rows,
                   align=["r", "l", "l", "l", "l", "l"]),
             "", paint("probable cause, as the engine gives it at the first divergence:", "bold", enabled=colour)]
    width = len(str(len(outcomes)))
    for i, outcome in enumerate(outcomes, 1):
        lines.append(f"  {i:>{width}}  {outcome.hint or paint('(no divergence, no hint)', 'red', enabled=colour)}")
    lines += ["", verdict(outcomes, colour)]
    return "\n".join(lines)


def verdict(outcomes, colour=False):
    failures = [o for o in outcomes if not o.ok]
    if not failures:
        return paint(f"✓ all {len(outcomes)} bugs caught at the tensor the catalogue predicts; the correct "
                     f"implementation passes on every bug's network", "green", "bold", enabled=colour)
    lines = []
    for outcome in failures:
        bug = outcome.bug
        if not outcome.detected:
            why = "not detected: every tensor agrees with the reference"
        elif outcome.first_divergence != bug.expected:
            why = f"first diverges at {outcome.first_divergence}, the catalogue predicts {bug.expected}"
        else:
            why = f"the correct implementation itself diverges at {outcome.control_divergence} on this network"
        lines.append(paint(f"✗ {bug.name}: {why}", "red", "bold", enabled=colour))
    return "\n".join(lines)


def show(bug):
    """The full compare report of one bug, exactly as `crosscheck --impl` prints it."""
    import numpy as np

    from .check import run_check
    from .cmd_compare import render as render_report
    scenario = bug.scenario
    net, params, X, Y = scenario.build()
    config = {"dtype": X.dtype.name, "batch": scenario.batch, "seed": scenario.seed,
              "data": "spiral" if net.sizes[0] == 2 else "gaussian"}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        report = run_check(net, params, X, Y, frameworks=(), impls={bug.name: bug.backprop()}, config=config)
    header = paint(f"── {bug.name}: {bug.title}  (breaks {bug.breaks})", "bold", "cyan", enabled=use_colour())
    return header + "\n" + render_report(report, net)
