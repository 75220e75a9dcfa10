#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.  Grading needs Python and NumPy only:
# the frameworks are not installed (the reference is checked against them by `crosscheck compare`).
# The autograder zip holds this file, run_autograder, scheme.toml and the package's wheel, made in the checkout:
#     pip wheel --no-deps -w dist .
#     zip -j autograder.zip examples/gradescope/{setup.sh,run_autograder,scheme.toml} dist/backprop_crosscheck-*.whl
#
# The student's code runs inside a boundary (docs/untrusted-code.md): bubblewrap where the image lets it make
# namespaces, else the unprivileged user made here (crosscheck grade --sandbox auto picks, and every results.json
# says which).  The user owns nothing: the package, the submission folder and the results stay root's.
set -euo pipefail
apt-get install -y python3 python3-venv bubblewrap
id -u crosscheck-worker >/dev/null 2>&1 \
    || useradd --system --uid 59000 --user-group --no-create-home --home-dir /nonexistent \
               --shell /usr/sbin/nologin crosscheck-worker
python3 -m venv /opt/crosscheck
/opt/crosscheck/bin/pip install /autograder/source/backprop_crosscheck-*.whl
chmod -R a+rX,go-w /opt/crosscheck   # readable by the worker's user, writable by root alone
ln -sf /opt/crosscheck/bin/crosscheck /usr/local/bin/crosscheck
