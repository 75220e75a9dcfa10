#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.  Grading needs Python and NumPy only:
# the frameworks are not installed (the reference is checked against them by `crosscheck compare`).
# The autograder zip holds this file, run_autograder, scheme.toml and the package's wheel, made in the checkout:
#     pip wheel --no-deps -w dist .
#     zip -j autograder.zip examples/gradescope/{setup.sh,run_autograder,scheme.toml} dist/backprop_crosscheck-*.whl
set -euo pipefail
apt-get install -y python3 python3-venv
python3 -m venv /opt/crosscheck
/opt/crosscheck/bin/pip install /autograder/source/backprop_crosscheck-*.whl
ln -sf /opt/crosscheck/bin/crosscheck /usr/local/bin/crosscheck
