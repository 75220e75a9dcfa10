"""Our own equivalents of the course helper modules most submissions lack (Coursera DLS's dnn_utils, dnn_utils_v2,
reg_utils, planar_utils; its tests testCases, testCases_v2, public_tests, test_utils).

The worker (crosscheck.student.worker.CourseHelpers) imports one of these only when a submission imports the
course's module and nothing else provides it — not beside the submission, not installed — and the report says so.
Each is written from what the course documents its functions to do (their docstrings and the notebooks' text),
with NumPy only; none is a copy of the course's file.  The course's tests are not needed by the check: their
stand-in defines nothing, so a notebook cell that calls one raises and is skipped.
"""
