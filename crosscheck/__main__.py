"""`python -m crosscheck …` from a source checkout, with nothing installed but NumPy."""
import sys

from crosscheck.cli import main

sys.exit(main())
