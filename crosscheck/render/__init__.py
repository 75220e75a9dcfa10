"""How results read: in a terminal, as HTML in a notebook, as Markdown for Gradescope, as plots.  Nothing here
computes a verdict: every rendering reads the engine's."""
