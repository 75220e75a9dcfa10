"""The engine: a problem, its probes, the reference's tensors and tolerances, each candidate compared tensor by
tensor, the diagnosis of what differs, and the verdict.  It imports only the reference, the adapters and
crosscheck.errors: no command line, no rendering, no user code runs here."""
