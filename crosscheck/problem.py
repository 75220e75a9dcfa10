"""A Problem: the network, its parameters and its data — what every check and training run starts from.

    build_problem(layers=(2, 4, 3), activation="relu", …)   the lecture's, or any network; seeded
    parameters (or a file of them) and the spiral, Gaussian stand-ins or a file of data; every input checked
"""
from dataclasses import dataclass, field

from reference import Network, init_params, load_data, make_data, params_from_arrays
from reference.data import spiral_classes
from reference.trace import load_npz

from .errors import UsageError

LECTURE_LAYERS = (2, 4, 3)


@dataclass(frozen=True)
class Problem:
    net: Network
    params: list          # [(W1, b1), …] in the problem's dtype
    X: object             # (m, n0)
    Y: object             # (m, nL), one-hot for softmax-ce
    config: dict = field(default_factory=dict)  # how it was made, for reports and saved files

    def __iter__(self):  # net, params, X, Y = problem
        return iter((self.net, self.params, self.X, self.Y))


def build_problem(layers=None, activation="relu", loss="softmax-ce", l2=0.0, l2_convention="keras", leaky_slope=0.01,
                  dtype="float64", batch=300, seed=0, init="lecture", params=None, data=None):
    """The Problem the options describe.

    params  an .npz of W1, b1, W2, b2, … (the layers follow from it; `layers`, if given, must agree)
    data    an .npz of X with Y (one-hot) or y (labels); else the spiral when it fits, else Gaussian
    """
    options = dict(activation=activation, loss=loss, l2=l2, l2_convention=l2_convention, leaky_slope=leaky_slope)
    if params:
        arrays = params_from_arrays(load_npz(params), dtype=dtype)
        net = Network.from_params(arrays, **options)
        if layers and tuple(layers) != net.sizes:
            raise UsageError(f"--layers {','.join(map(str, layers))} disagrees with --params "
                             f"{params} ({','.join(map(str, net.sizes))})")
    else:
        net = Network(tuple(layers or LECTURE_LAYERS), **options)
        arrays = init_params(net, init, seed, dtype)
    X, Y = load_data(data, net, dtype=dtype) if data else make_data(net, batch, seed, dtype)
    config = {"network": net.describe(), "layers": list(net.sizes), "activation": net.activation, "loss": net.loss, "dtype": X.dtype.name,
              "batch": int(X.shape[0]), "seed": seed, "init": None if params else init, "l2": net.l2,
              "l2_convention": net.l2_convention, "params": params,
              "data": data or ("spiral" if spiral_classes(net) else "gaussian")}
    return Problem(net, arrays, X, Y, config)
