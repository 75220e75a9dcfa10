"""Grading a class: each submission in a worker process of its own, scored by a points scheme, and written up
for the instructor (a CSV, a summary, a histogram) and for each student (feedback, a Gradescope results.json).

    scheme = Scheme.load("scheme.toml")                  # or Scheme(): the default (DEFAULT_SCHEME below)
    assignment = Assignment(scheme, style="lecture", spec=Spec(layers=(2, 4, 3)), limits=Limits(timeout=30))
    submissions = discover(["submissions/"])             # files, folders, .zip files, nbgrader, Canvas, Moodle
    results = grade(submissions, assignment, jobs=2, progress=print)
    results[0].score, .max_score, .status, .first_divergence, .hint, .fix, .seconds, .peak_memory_mb, .tests

Only the reference is compared (no framework is imported, here or in a worker): the reference is itself checked
against PyTorch, TensorFlow, JAX and Keras by `crosscheck compare`.  A worker imports NumPy and the submission.

**Scoring.**  On each probe the scheme weighs (crosscheck.probes), each tensor group — forward (Z, A), J, dZ/dA,
dW/db — is worth weight × the group's points, shared equally among its tensors.  A tensor earns its share when it
agrees with the reference; one that fails only because an earlier one failed (↳: the lecture's formula gives it
from the student's own, real upstream tensors, so the code that makes it is right) earns what the scheme's
`inherited` says: all of it (the default), half, or none.  The first divergence, a tensor
with a mistake of its own, a required dW or db that is missing, and a tensor not returned earn nothing.  A probe
the submission fails on (an exception, a hang), or cannot be run on (written for fewer layers), earns nothing; a
submission that imports what it may not (crosscheck's reference, an autograd framework) earns nothing at all.
One the grader cannot grade through no fault of the student's — its machine lacks a module the code imports, or
nbformat for a notebook; a worker cannot start — is `ungraded`: no score at all, and the fix for the instructor.

The maximum is the assignment's, the same for every student: the probes that apply to the network asked for
(a probe the code cannot be asked is scored like those it was), and, per style, the tensors the course's API can
return (CS231n's loss gives Z[L], J, dW and db; DLS's caches and grads give everything but dZ).

**Deterministic.**  Probes are seeded; the same submissions get the same scores, in the same order, run after
run — except a submission whose run time sits at the --timeout itself.

The parts, one module each: scheme (the points, the assignment), submissions (finding them), scoring (running
each through the runner, crosscheck.student.runner, and its points), writing (the CSV, the gradebooks Canvas and
Moodle import, the summary, the feedback, Gradescope's results.json, the histogram, grades.json).
"""
from crosscheck.classroom.grading.scheme import DEFAULT_SCHEME, GROUPS, Assignment, Scheme, gradable, group_of
from crosscheck.classroom.grading.scoring import STATUSES, UNGRADED, Grade, Test, grade, grade_one
from crosscheck.classroom.grading.submissions import Submission, discover
from crosscheck.classroom.grading.writing import (
           CSV_COLUMNS,
           GRADEBOOKS,
           as_json,
           csv_text,
           dumps,
           feedback,
           file_name,
           gradebook,
           gradescope,
           histogram_counts,
           histogram_png,
           record,
           row,
           student_summary,
           summary,
)

__all__ = ["CSV_COLUMNS", "DEFAULT_SCHEME", "GRADEBOOKS", "GROUPS", "STATUSES", "UNGRADED", "Assignment", "Grade",
           "Scheme", "Submission", "Test", "as_json", "csv_text", "discover", "dumps", "feedback", "file_name",
           "gradable", "grade", "grade_one", "gradebook", "gradescope", "group_of", "histogram_counts",
           "histogram_png", "record", "row", "student_summary", "summary"]
