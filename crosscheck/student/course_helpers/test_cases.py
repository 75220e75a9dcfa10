"""Stands in for the course's tests (testCases, testCases_v2, public_tests, test_utils): the check needs none of
them.  It defines nothing, so a notebook cell that calls a test raises and is skipped, with a note."""
