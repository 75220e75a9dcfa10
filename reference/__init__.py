"""A NumPy implementation of the lecture's N-layer network that reads like the lecture.

    from reference import Network, init_params, make_data, backprop
    net = Network([2, 4, 3])                     # the lecture: 2 inputs, 4 ReLU units, 3-way softmax
    params = init_params(net, seed=0)            # [(W1, b1), (W2, b2)]
    X, Y = make_data(net)                        # the 300-point spiral, Y one-hot
    trace = backprop(net, params, X, Y)          # trace["dW1"], trace["dZ2"], trace["J"], …
"""
from .data import gaussian_data, load_data, make_data, one_hot, spiral, targets
from .errors import InputError
from .init import INIT_SCHEMES, init_params, params_from_arrays
from .network import ACTIVATIONS, DTYPES, LOSSES, Network, backprop, backward, check_inputs, cost, dropout_masks, forward
from .regularization import L2_CONVENTIONS, l2_coefficient
from .trace import Trace, backward_names, computed_names, forward_names, input_names, parameter_names, to_lecture_convention

__all__ = [
    "ACTIVATIONS", "DTYPES", "INIT_SCHEMES", "L2_CONVENTIONS", "LOSSES", "InputError", "Network", "Trace",
    "backprop", "backward", "backward_names", "check_inputs", "computed_names", "cost", "dropout_masks", "forward",
    "forward_names", "gaussian_data", "init_params", "input_names", "l2_coefficient", "load_data",
    "make_data", "one_hot", "parameter_names", "params_from_arrays", "spiral", "targets", "to_lecture_convention",
]
