"""A student's own implementation: the course styles it is written in, the worker process it runs in, and the
one runner that checks it on every probe (compare --impl, crosscheck.check, the pytest plugin and grade)."""
