"""What every style's caller shares: arguments by name, what comes back as arrays, and why it cannot be compared.

Standard library and NumPy only: this runs in the worker process, next to the user's code.
"""
import inspect
import re

import numpy as np

# what an implementation may call its L2 strength (the first one its signature has is passed λ)
L2_NAMES = ("l2", "lambd", "lam", "lmbda", "lambda_", "reg", "l2_reg", "l2_lambda", "reg_lambda",
            "weight_decay", "regularization")
# hidden widths of a style's own network, when the options give none (all different: a transposed W cannot fit)
HIDDEN_WIDTHS = (4, 3, 5, 6, 7, 8)


class ResultError(Exception):
    """What the user's code returned cannot be compared: the message says what to return instead."""


class CallError(Exception):
    """Our call into the user's code did not fit its signature: the failure is the checker's, worded as such."""


class Refused(Exception):
    """The code cannot be asked this problem (a fixed-depth forward pass given another depth): not a mistake."""


def call_user(function, *args, **kwargs):
    """function(*args, **kwargs); a TypeError raised by the call itself — the arguments did not bind, before any of
    the user's lines ran — is a CallError: the checker called it wrongly, the code is not to blame."""
    try:
        return function(*args, **kwargs)
    except TypeError as exc:
        if exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
            raise  # raised inside the user's code: theirs
        name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or repr(function)
        try:
            signature = str(inspect.signature(function))
        except (TypeError, ValueError):
            signature = "(…)"
        given = [("list" if isinstance(a, list) else "dict" if isinstance(a, dict) else type(a).__name__)
                 for a in args] + [f"{k}=" for k in kwargs]
        raise CallError(f"crosscheck could not call your {name}{signature} with ({', '.join(given)}): {exc} — our "
                        f"call, not a mistake in your code (please report it if {name} follows the course's API)") \
            from None


def accepts_keyword(function, name):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind is not p.POSITIONAL_ONLY or p.kind is p.VAR_KEYWORD for p in parameters)


def l2_parameter(function):
    """The name under which the function takes an L2 strength, or None."""
    try:
        names = [p.name for p in inspect.signature(function).parameters.values()]
    except (TypeError, ValueError):
        return None
    return next((name for name in names if name in L2_NAMES), None)


def weights_read(function):
    """The depth a fixed-depth forward pass is written for: the highest k of the "Wk" it reads, from its source;
    None when it builds the key ("W" + str(l)) or its source cannot be read."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    if re.search(r"""["']W["']\s*\+|f["']W\{|["']W%d|["']W\{""", source):
        return None
    found = [int(k) for k in re.findall(r"""["']W(\d+)["']""", source)]
    return max(found) if found else None


def fixed_depth(function, argument):
    """The depth a function is written for when its source says so — it unpacks the parameter list into a fixed
    number of layers ((W1, b1), (W2, b2) = params: any other depth raises there), or indexes it only with constants
    (params[0], params[1]; params["W1"], params["W2"] in code written for a dict) and never asks its length or
    loops over it — else None (any depth, or unknown).
    Nothing is called."""
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None

    def is_argument(node):
        return isinstance(node, ast.Name) and node.id == argument

    unpacked, indices, any_depth = None, set(), False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and is_argument(node.value):
            target = node.targets[0]
            if isinstance(target, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in target.elts):
                unpacked = len(target.elts)  # any other depth raises right there: decisive
        elif isinstance(node, ast.Subscript) and is_argument(node.value):
            index = node.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, int) and index.value >= 0:
                indices.add(index.value)
            elif isinstance(index, ast.Constant) and isinstance(index.value, str):
                found = re.fullmatch(r"W(\d+)", index.value)  # params["W2"]: code written for a dict of layers
                if found:
                    indices.add(int(found.group(1)) - 1)
            else:
                any_depth = True  # params[l - 1], params[-1], params[1:], params["W" + str(l)]: a layer it computes
        elif isinstance(node, (ast.For, ast.comprehension)) and any(is_argument(n) for n in ast.walk(node.iter)):
            any_depth = True      # for W, b in params / range(len(params)): any depth
        elif isinstance(node, ast.Call) and any(is_argument(a) for a in node.args):
            any_depth = True      # len(params), zip(params, …), a helper handed the whole list
    if unpacked:
        return unpacked
    return max(indices) + 1 if indices and not any_depth else None


def gradient_name(key, grads):
    """grads["W1"] is dW1 (CS231n names a gradient after its parameter) unless the dict has dW1 itself."""
    if isinstance(key, str) and re.fullmatch(r"[Wb]\d+", key) and f"d{key}" not in grads:
        return f"d{key}"
    return key


def row_bias(name, value):
    """A 1-D db as the (1, n) row it stands for: CS231n's biases are 1-D, its convention, not a missing keepdims."""
    if isinstance(name, str) and re.fullmatch(r"db\d+", name) and np.ndim(value) == 1:
        return np.reshape(value, (1, -1))
    return value


def bind(function, available, order, l2_key="lambd"):
    """function(…) with each parameter given by its name from `available`, the others by position in `order`
    (the course's order of arguments) — so that backward_propagation(parameters, cache, X, Y) and
    backward_propagation(X, Y, cache) are both called right.  A call that does not fit is a CallError."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return call_user(function, *(available[name] for name in order if name != l2_key))
    args, kwargs, unused = [], {}, list(order)
    lowered = {k.lower(): k for k in available}
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        name = p.name if p.name in available else lowered.get(p.name.lower())
        if name is None and p.name in L2_NAMES:
            name = l2_key
        if name is None:
            if p.default is not p.empty:
                continue
            name = next((n for n in unused if n != l2_key and n in available), None)
            if name is None:
                continue
        if name in unused:
            unused.remove(name)
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = available[name]
        else:
            args.append(available[name])
    return call_user(function, *args, **kwargs)


def reads_by_name(function, argument):
    """Whether the function reads its parameters by name — params["W1"], params["W" + str(l)], params.items() —
    from its source: it is then handed a dict, not the lecture's list of (W, b) pairs.  Nothing is called."""
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == argument:
            if isinstance(node.slice, ast.JoinedStr) or any(
                    isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(node.slice)):
                return True
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == argument
                and node.attr in ("items", "keys", "values", "get")):
            return True
    return False


class Pairs(list):
    """The lecture's params, [(W1, b1), …], that also answers params["W1"] and params["b2"]: code written for a dict
    whose source could not be read still gets what it asks for (len() stays the number of layers)."""

    def __init__(self, pairs, named):
        super().__init__(pairs)
        self.named = dict(named)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.named[key]
        return super().__getitem__(key)

    def keys(self):
        return self.named.keys()

    def items(self):
        return self.named.items()

    def values(self):
        return self.named.values()

    def get(self, key, default=None):
        return self.named.get(key, default)


def said(notes=(), calls=()):
    """What a style's call tells besides the arrays: notes for the report (which naming or helper was read) and
    the user's functions it called, in order."""
    return {"notes": list(notes), "calls": list(calls)}


def lecture_arrays(returned, names, x_dtype, what="backprop"):
    """The returned dict's lecture-named values as arrays, and the keys that are not lecture names."""
    if not isinstance(returned, dict):
        raise ResultError(f"{what} must return a dict of lecture-named arrays, it returned {type(returned).__name__}")
    arrays, ignored = {}, []
    for key, value in returned.items():
        if isinstance(key, str) and key in names:
            try:
                arrays[key] = as_array(key, value, x_dtype)
            except ResultError as exc:
                raise ResultError(f"{what} {exc}") from None
        elif len(ignored) < 100:
            ignored.append(str(key)[:40])
    return arrays, ignored


# the library a tensor-like value comes from -> how to return it as a NumPy array instead
TO_NUMPY = {"torch": "{name}.detach().cpu().numpy()", "tensorflow": "{name}.numpy()", "jax": "np.asarray({name})",
            "jaxlib": "np.asarray({name})", "cupy": "{name}.get()"}


def as_array(name, value, x_dtype):
    """value as a NumPy array of real numbers; ResultError with how to make one when it is not."""
    module = str(getattr(type(value), "__module__", "") or "")
    library = module.split(".")[0]
    if library == "torch" and getattr(value, "requires_grad", False) is True:
        raise ResultError(f"returned {name} as a torch tensor that requires grad: return {name}.detach().numpy()")
    if "bfloat16" in str(getattr(value, "dtype", "")):
        raise ResultError(precision_problem(name, "bfloat16", x_dtype))
    try:
        array = np.asarray(value)
    except Exception:
        array = None
    if array is None or array.dtype.hasobject:  # not convertible, or ragged / not numbers: an array of objects
        kind = type(value).__name__ if library in ("", "builtins") else f"{module}.{type(value).__name__}"
        how = TO_NUMPY.get(library, "a NumPy array of numbers, e.g. np.asarray({name}, dtype=float)").format(name=name)
        raise ResultError(f"returned {name} as {kind}, not an array of numbers: return {how}")
    problem = dtype_problem(name, array.dtype, x_dtype)
    if problem:
        raise ResultError(problem)
    return array


def dtype_problem(name, dtype, x_dtype):
    """Why an array of this dtype cannot be compared, or None (the checker validates with the same words)."""
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        return f"returned {name} with dtype {dtype}, not real numbers"
    if dtype.kind == "f" and dtype.itemsize < 4:
        return precision_problem(name, dtype.name, x_dtype)
    return None


def precision_problem(name, dtype_name, x_dtype):
    x_dtype = np.dtype(x_dtype).name
    return (f"returned {name} in {dtype_name}: the reference computes in X's dtype ({x_dtype}) and {dtype_name} "
            f"results are not compared — return {name} in {x_dtype}")
