"""Python 2's names for Python 3's builtins, as CS231n's code imports them."""
xrange = range
