"""crosscheck bugs — the catalogue of classic backprop mistakes (crosscheck/bugs/), each run through the
same checks as --impl: is it caught, at which tensor, with which hint, and which lecture line it breaks.

This is the proof that the checks can fail.  Exit code 0 when every bug is caught at the tensor the
catalogue predicts and the correct implementation passes on every bug's problem, 1 otherwise, 2 on bad input.
"""
from crosscheck import bugs, output
from crosscheck.cli import options
from crosscheck.console import table
from crosscheck.errors import UsageError
from crosscheck.render import tools as render

EXAMPLES = """\
examples:
  crosscheck bugs                                the whole catalogue: each mistake caught, where, with which hint
  crosscheck bugs --list                         the mistakes' names and titles
  crosscheck bugs --show dW-without-1-over-m     one mistake's full tensor-by-tensor report
  crosscheck bugs --markdown > docs/why-are-my-gradients-wrong.md
"""


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="BUG", help="only these bugs (default: the whole catalogue)")
    shown = parser.add_mutually_exclusive_group()
    options.add_json_argument(shown)
    shown.add_argument("--markdown", action="store_true",
                       help="print the 'why are my gradients wrong?' page (docs/why-are-my-gradients-wrong.md)")
    shown.add_argument("--show", action="store_true",
                       help="print each bug's full tensor-by-tensor report, as `crosscheck --impl` would")
    parser.add_argument("--list", action="store_true", help="list the catalogue's names and titles, run nothing")


def run(args):
    chosen = select(args.names)
    if args.list:
        print(table(["bug", "mistake", "first shows in"], [[b.name, b.title, b.expected] for b in chosen]))
        return 0
    outcomes = bugs.run_catalogue(chosen)
    if args.json:
        output.emit_json([outcome.as_json() for outcome in outcomes])
    elif args.markdown:
        print(bugs.markdown(outcomes), end="")
    elif args.show:
        print("\n\n".join(render.training_bug_report(bug, bugs.check_training(bug.backprop(), bug.scenario, bug.name))
                            if bug.trains else
                            render.bug_report(bug, bugs.check_scenario(bug.backprop(), bug.scenario, bug.name, bug.probe))
                            for bug in chosen))
    else:
        print(render.bugs_report(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def select(names):
    """The catalogued bugs by name, in catalogue order; all of them when no name is given."""
    unknown = [name for name in names if name not in bugs.BY_NAME]
    if unknown:
        raise UsageError(f"no catalogued bug named {', '.join(unknown)}; `crosscheck bugs --list` names them all")
    return [bug for bug in bugs.BUGS if bug.name in names] if names else list(bugs.BUGS)
