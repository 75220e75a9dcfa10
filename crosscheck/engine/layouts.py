"""Layouts: where the examples go.  The lecture's is one example per row; many courses put one per column.

    rows      X (m, n0), Y (m, nL), W (n_in, n_out), b (1, n_out), Z and A (m, n)     (the lecture, CS231n)
    columns   X (n0, m), Y (nL, m), W (n_out, n_in), b (n_out, 1), Z and A (n, m)     (Coursera's DLS, Nielsen)

The two are transposes of each other, tensor by tensor, so the conversion is one rule: every 2-D array is
transposed.  The checker compares in rows; an implementation receives and returns its own layout, and a report
shows shapes in it.
"""
import numpy as np

LAYOUTS = ("rows", "columns")


def to_layout(arrays, layout):
    """{name: array} in the lecture's rows -> in `layout` (each a copy the implementation may change)."""
    if layout == "columns":
        return {name: np.ascontiguousarray(np.asarray(a).T) if np.ndim(a) == 2 else np.array(a) for name, a in arrays.items()}
    return {name: np.array(a) for name, a in arrays.items()}


def from_layout(arrays, layout):
    """{name: array} an implementation returned in `layout` -> in rows (a 1-D or 0-D array as it is)."""
    if layout == "columns":
        return {name: np.asarray(a).T if np.ndim(a) == 2 else a for name, a in arrays.items()}
    return dict(arrays)


def shape_in(shape, layout):
    """A rows shape as the implementation sees it in `layout`."""
    shape = tuple(shape)
    return shape[::-1] if layout == "columns" and len(shape) == 2 else shape


def describe(layout):
    if layout == "columns":
        return "columns: X (n0, m), W (n_out, n_in), b (n_out, 1)"
    return "rows: X (m, n0), W (n_in, n_out), b (1, n_out)"
