"""For the classroom: the Python API (crosscheck.check), the pytest plugin, and grading a whole class."""
