"""backprop-crosscheck: the engine that compares Traces, and the `crosscheck` command."""
__version__ = "0.1.0"
