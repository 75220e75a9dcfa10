"""An oracle of the tests' own for code written the way the courses write it: the code loaded in this process and
its gradients checked by central differences of its own cost, on data and parameters drawn here — nothing of
crosscheck's (its reference, its probes, its course helpers) is used, so a verdict the tests assert is backed by
an independent computation.

    module = load(path)                             # the course's helper modules it imports are ours, written here
    dls_gradient_error(module, (2, 4, 3, 1))        # max relative |dW, db − central differences| of its cost
    cs231n_gradient_error(module.TwoLayerNet, (2, 5, 3), reg=0.1)
"""
import importlib.util
import sys
import types

import numpy as np

# ---- the course's helper modules, as the oracle sees them (written from their documentation, here) -------------

def _sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def _dnn_utils():
    module = types.ModuleType("dnn_utils")
    module.sigmoid = lambda Z: (_sigmoid(Z), Z)
    module.relu = lambda Z: (np.maximum(Z, 0), Z)
    module.sigmoid_backward = lambda dA, Z: dA * _sigmoid(Z) * (1 - _sigmoid(Z))
    module.relu_backward = lambda dA, Z: dA * (Z > 0)
    return module


def _reg_utils():
    module = types.ModuleType("reg_utils")
    module.sigmoid, module.relu = _sigmoid, lambda x: np.maximum(x, 0)

    def forward_propagation(X, p):
        Z1 = p["W1"] @ X + p["b1"]
        A1 = np.maximum(Z1, 0)
        Z2 = p["W2"] @ A1 + p["b2"]
        A2 = np.maximum(Z2, 0)
        Z3 = p["W3"] @ A2 + p["b3"]
        A3 = _sigmoid(Z3)
        return A3, (Z1, A1, p["W1"], p["b1"], Z2, A2, p["W2"], p["b2"], Z3, A3, p["W3"], p["b3"])

    def compute_cost(A3, Y):
        return float(-np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3)))

    module.forward_propagation, module.compute_cost = forward_propagation, compute_cost
    module.backward_propagation = None  # not needed by the oracle: its gradients are the central differences
    return module


def _planar_utils():
    module = types.ModuleType("planar_utils")
    module.sigmoid = _sigmoid
    return module


HELPERS = {"dnn_utils": _dnn_utils, "reg_utils": _reg_utils, "planar_utils": _planar_utils}


def load(path):
    """The file as a module of this process, the course helpers it imports being the oracle's."""
    saved = {name: sys.modules.get(name) for name in HELPERS}
    sys.modules.update({name: make() for name, make in HELPERS.items()})
    try:
        spec = importlib.util.spec_from_file_location(f"oracle_{abs(hash(str(path)))}", str(path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for name, value in saved.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value


def source_module(tmp_path, source, name="course_code.py"):
    path = tmp_path / name
    path.write_text(source)
    return load(path)


# ---- central differences -------------------------------------------------------------------------------------

def _central(f, parameters, eps=1e-6):
    """{name: ∂f/∂parameters[name]} by central differences (f of a dict of float64 arrays)."""
    found = {}
    for name, value in parameters.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + eps
            up = f(parameters)
            value[index] = saved - eps
            down = f(parameters)
            value[index] = saved
            grad[index] = (up - down) / (2 * eps)
        found[name] = grad
    return found


def _relative(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return float("inf")
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12))


def _columns_problem(sizes, m=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((sizes[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    Y[0, :2] = [0, 1]
    parameters = {}
    for l in range(1, len(sizes)):
        parameters[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) * np.sqrt(2 / sizes[l - 1])
        parameters[f"b{l}"] = 0.5 * rng.standard_normal((sizes[l], 1))
    return X, Y, parameters


def dls_gradient_error(module, sizes, lambd=0.0, keep_prob=None):
    """max over dW, db of the relative difference between the module's grads and central differences of its own
    cost; the deep L_model_* family, or the fixed weeks' forward_propagation family (with its regularized or dropout
    functions when lambd or keep_prob is given)."""
    X, Y, parameters = _columns_problem(sizes)
    if hasattr(module, "L_model_forward"):
        def cost(p):
            AL, _ = module.L_model_forward(X, p)
            return float(module.compute_cost(AL, Y)) + lambd / (2 * X.shape[1]) * sum(
                np.sum(p[f"W{l}"] ** 2) for l in range(1, len(sizes)))
        AL, caches = module.L_model_forward(X, parameters)
        grads = module.L_model_backward(AL, Y, caches, lambd) if lambd else module.L_model_backward(AL, Y, caches)
    elif keep_prob is not None:
        def cost(p):
            A, _ = module.forward_propagation_with_dropout(X, p, keep_prob)
            return float(module.compute_cost(A, Y))
        A, cache = module.forward_propagation_with_dropout(X, parameters, keep_prob)
        grads = module.backward_propagation_with_dropout(X, Y, cache, keep_prob)
    elif lambd:
        def cost(p):
            A, _ = module.forward_propagation(X, p)
            return float(module.compute_cost_with_regularization(A, Y, p, lambd))
        A, cache = module.forward_propagation(X, parameters)
        grads = module.backward_propagation_with_regularization(X, Y, cache, lambd)
    else:
        def cost(p):
            A, _ = module.forward_propagation(X, p)
            return float(module.compute_cost(A, Y))
        A, cache = module.forward_propagation(X, parameters)
        grads = module.backward_propagation(parameters, cache, X, Y)
    numeric = _central(cost, {k: v.copy() for k, v in parameters.items()})
    return max(_relative(grads.get(f"d{name}"), numeric[name]) for name in parameters)


def cs231n_gradient_error(cls, sizes, reg=0.0):
    """The relative difference between a CS231n model's grads and central differences of its loss."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, sizes[0]))
    y = rng.integers(0, sizes[-1], 9)
    model = cls(*sizes)
    for l in range(1, len(sizes)):
        model.params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2 / sizes[l - 1])
        model.params[f"b{l}"] = 0.5 * rng.standard_normal(sizes[l])

    def loss(p):
        model.params.update(p)
        return float(model.loss(X, y, reg=reg)[0])

    parameters = {k: v.copy() for k, v in model.params.items()}
    numeric = _central(loss, {k: v.copy() for k, v in parameters.items()})
    model.params.update(parameters)
    _, grads = model.loss(X, y, reg=reg)
    return max(_relative(grads[name], numeric[name]) for name in parameters)


def lecture_gradient_error(backprop, sizes, by_name=False):
    """For the lecture's backprop(X, Y, params) in rows (params a list of (W, b), or a dict when by_name): its dW,
    db against central differences of the mean softmax cross-entropy computed here."""
    rng = np.random.default_rng(2)
    m = 9
    X = rng.standard_normal((m, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    parameters = {}
    for l in range(1, len(sizes)):
        parameters[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2 / sizes[l - 1])
        parameters[f"b{l}"] = 0.5 * rng.standard_normal((1, sizes[l]))

    def cost(p):
        A = X
        for l in range(1, len(sizes)):
            Z = A @ p[f"W{l}"] + p[f"b{l}"]
            A = np.maximum(Z, 0) if l < len(sizes) - 1 else np.exp(Z - Z.max(1, keepdims=True))
        A = A / A.sum(1, keepdims=True)
        return float(-np.mean(np.sum(Y * np.log(A), axis=1)))

    numeric = _central(cost, {k: v.copy() for k, v in parameters.items()})
    given = parameters if by_name else [(parameters[f"W{l}"], parameters[f"b{l}"]) for l in range(1, len(sizes))]
    grads = backprop(X, Y, given)
    return max(_relative(grads[f"d{name}"], numeric[name]) for name in parameters)
