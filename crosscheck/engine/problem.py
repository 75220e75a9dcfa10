"""A Problem: the network, its parameters and its data — what every check and training run starts from.

    spec = Spec(layers=(2, 4, 3), activation="relu", …)     what to build: every field has the lecture's default
    build_problem(spec) or build_problem(layers=(2, 4, 3), …)   the lecture's, or any network; seeded
    parameters (or a file of them) and the spiral, Gaussian stand-ins, a file of data or a named real data
    set (digits, breast-cancer: its training split; the dev and test splits ride along); every input checked;
    with dropout the masks D1…D(L−1), drawn once from the seed and handed to every framework
"""
import dataclasses
import os
from dataclasses import dataclass, field

from crosscheck.errors import UsageError
from crosscheck.reference import Network, dropout_masks, init_params, load_data, make_data, params_from_arrays
from crosscheck.reference.data import DATASETS, dataset_layers, file_layers, load_dataset, spiral_classes, split_file
from crosscheck.reference.trace import load_npz

LECTURE_LAYERS = (2, 4, 3)


@dataclass(frozen=True)
class Problem:
    net: Network
    params: list          # [(W1, b1), …] in the problem's dtype
    X: object             # (m, n0)
    Y: object             # (m, nL), one-hot for softmax-ce
    config: dict = field(default_factory=dict)  # how it was made, for reports and saved files
    dataset: object = None  # a reference.data.Dataset when the data was split: X, Y are its training split
    masks: list = None      # with dropout in a training pass: [D1, …, D(L−1)], each (m, n[l]), shared by everyone

    def __iter__(self):  # net, params, X, Y = problem
        return iter((self.net, self.params, self.X, self.Y))


@dataclass(frozen=True)
class Spec:
    """What a problem is made of; every field has the lecture's default.  build_problem(spec) makes it.

    layers      sizes, inputs first (None: the lecture's 2-4-3, or what params/data imply)
    activation, loss, l2_convention   None: the lecture's (relu; softmax-ce; keras), or a course style's own
                (student.styles: the planar week's tanh, DLS's sigmoid-bce and course convention)
    """

    layers: tuple = None
    activation: str = None
    loss: str = None
    l2: float = 0.0
    l2_convention: str = None
    leaky_slope: float = 0.01
    dtype: str = "float64"
    batch: int = 300
    seed: int = 0
    init: str = "lecture"
    params: str = None
    data: str = None
    split_files: bool = False
    keep_prob: float = 1.0
    batch_norm: bool = False
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    inference: bool = False

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def fixed(self):
        """Whether a file fixes the problem (its parameters or its data): then there is one problem, not probes."""
        return bool(self.params or self.data)

    @property
    def extensions(self):
        """Whether the network has the next lecture's dropout or batch norm."""
        return self.keep_prob < 1 or self.batch_norm


def build_problem(spec=None, **fields):
    """The Problem a Spec describes (or its fields, as keyword arguments; those given win over the spec's)."""
    spec = (spec or Spec()).replace(**fields) if fields else (spec or Spec())
    return _build(**dataclasses.asdict(spec))


def _build(layers, activation, loss, l2, l2_convention, leaky_slope, dtype, batch, seed, init, params, data,
           split_files, keep_prob, batch_norm, bn_momentum, bn_eps, inference):
    """The Problem the options describe.

    keep_prob, batch_norm, bn_momentum, bn_eps, inference   the network's dropout and batch norm, and whether the
            pass is an inference pass (reference.network.Network); the dropout masks come from `seed`

    params  an .npz of W1, b1, W2, b2, … (the layers follow from it; `layers`, if given, must agree)
    data    a data set's name (digits, breast-cancer): its training split, standardized on itself, split
            with `seed` (the layers default to n0-32-K); or an .npz of X with Y (one-hot) or y (labels),
            all of it (split like a named set when split_files, the layers then n0-32-K from the file);
            else the spiral when it fits, else Gaussian
    """
    activation, loss, l2_convention = activation or "relu", loss or "softmax-ce", l2_convention or "keras"
    options = dict(activation=activation, loss=loss, l2=l2, l2_convention=l2_convention, leaky_slope=leaky_slope,
                   keep_prob=keep_prob, batch_norm=batch_norm, bn_momentum=bn_momentum, bn_eps=bn_eps,
                   training=not inference)
    named = data_name(data)
    if named and not layers and not params:
        layers = dataset_layers(named, loss)
    elif data and split_files and not layers and not params:
        layers = file_layers(data, loss)
    if params:
        arrays = params_from_arrays(load_npz(params), dtype=dtype)
        net = Network.from_params(arrays, **options)
        if layers and tuple(layers) != net.sizes:
            raise UsageError(f"disagrees with {{params}} {params} ({','.join(map(str, net.sizes))})", field="layers",
                             value=layers)
    else:
        net = Network(tuple(layers or LECTURE_LAYERS), **options)
        arrays = init_params(net, init, seed, dtype)
    dataset = None
    if named:
        dataset = load_dataset(named, net, seed, dtype)
    elif data and split_files:
        dataset = split_file(data, net, seed, dtype)
    if dataset is not None:
        X, Y = dataset.split("train")
    else:
        X, Y = load_data(data, net, dtype=dtype) if data else make_data(net, batch, seed, dtype)
    config = {"network": net.describe(), "layers": list(net.sizes), "activation": net.activation, "loss": net.loss,
              "dtype": X.dtype.name,
              "batch": int(X.shape[0]), "seed": seed, "init": None if params else init, "l2": net.l2,
              "l2_convention": net.l2_convention, "params": params,
              "data": data or ("spiral" if spiral_classes(net) else "gaussian")}
    if keep_prob < 1 or batch_norm:
        config.update({"keep_prob": net.keep_prob, "batch_norm": net.batch_norm, "pass": "training" if net.training
                       else "inference"})
        if batch_norm:
            config.update({"bn_momentum": net.bn_momentum, "bn_eps": net.bn_eps})
    if dataset is not None:
        config["data"] = f"{data}, training split"
        config["split"] = split_config(dataset)
    masks = dropout_masks(net, X.shape[0], seed, X.dtype.name)
    return Problem(net, arrays, X, Y, config, dataset, masks)


def data_name(data):
    """The data set `data` names, None for a file (or no data); UsageError for a name that is neither.

    A name wins over a file of the same name in the current directory: write ./digits for the file.
    """
    if not data or data not in DATASETS and (os.path.exists(data) or data.endswith(".npz") or os.sep in data):
        return None
    if data not in DATASETS:
        raise UsageError(f"no such file, and no data set of that name; choose one of {', '.join(DATASETS)} or give "
                         f"an .npz file", field="data", value=data)
    return data


def split_config(dataset):
    """What the split was, for reports and saved files: sizes, fractions, seed, how the inputs were scaled."""
    return {**dataset.sizes(), "fractions": list(dataset.fractions), "seed": dataset.seed, "stratified": True,
            "standardized": "with the mean and std of the training rows"}
