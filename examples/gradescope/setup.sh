#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.  Grading needs Python and NumPy, nbformat for
# notebook submissions (the package's notebook extra), and whatever else the course lets students import: list
# those packages in requirements.txt beside this file (one per line, as pip reads it: matplotlib, scipy==1.13, …) —
# a submission that imports a module not installed here is not graded (never 0 points), and the autograder's
# output names the package to add.  The frameworks are not installed (the reference is checked against them by
# `crosscheck compare`); a submission that imports one is refused by design.
# The autograder zip holds this file, run_autograder, scheme.toml, the package's wheel and, optionally,
# requirements.txt, made in the checkout:
#     pip wheel --no-deps -w dist .
#     zip -j autograder.zip examples/gradescope/{setup.sh,run_autograder,scheme.toml} dist/backprop_crosscheck-*.whl
#
# The student's code runs inside a boundary (docs/untrusted-code.md): bubblewrap where the image lets it make
# namespaces, else the unprivileged user made here (crosscheck grade --sandbox auto picks, and every results.json
# says which).  The user owns nothing: the package, the submission folder and the results stay root's.
set -euo pipefail
SOURCE="${AUTOGRADER_ROOT:-/autograder}/source"   # stand-ins for trying this script elsewhere
PREFIX="${CROSSCHECK_PREFIX:-/opt/crosscheck}"
apt-get install -y python3 python3-venv bubblewrap
id -u crosscheck-worker >/dev/null 2>&1 \
    || useradd --system --uid 59000 --user-group --no-create-home --home-dir /nonexistent \
               --shell /usr/sbin/nologin crosscheck-worker
python3 -m venv "$PREFIX"
wheel=$(ls "$SOURCE"/backprop_crosscheck-*.whl)
"$PREFIX/bin/pip" install "${wheel}[notebook]"
if [ -f "$SOURCE/requirements.txt" ]; then
    "$PREFIX/bin/pip" install -r "$SOURCE/requirements.txt"   # the modules the course allows
fi
chmod -R a+rX,go-w "$PREFIX"   # readable by the worker's user, writable by root alone
ln -sf "$PREFIX/bin/crosscheck" /usr/local/bin/crosscheck
