"""What `crosscheck bench` times in NumPy: a batched matmul, and one training step of the reference.

    matmul        a @ b
    train_step    reference_step: the lecture's forward, cost and backward pass, then W ← W − α dW in place
"""
from crosscheck.adapters.kernel import Kernel, matmul_inputs
from crosscheck.reference import backward, cost, forward


def matmul(case):
    a, b = matmul_inputs(case["shape"], case["dtype"])
    return Kernel(call=lambda: a @ b)


def reference_step(net, params, X, Y, lr):
    """One training step of the reference: forward, cost, the lecture's backward, then W ← W − α dW.

    params [(W, b), …] are updated in place; returns J (before the step).
    """
    Zs, As, caches = forward(net, params, X)
    J = cost(net, params, Zs[-1], Y)
    grads = {name: g for name, g in backward(net, params, As, caches, Y) if name[:2] in ("dW", "db")}
    for l, (W, b) in enumerate(params, start=1):
        W -= lr * grads[f"dW{l}"]
        b -= lr * grads[f"db{l}"]
    return J


def train_step(case, problem):
    net, X, Y, lr = problem.net, problem.X, problem.Y, problem.lr
    params = [(W.copy(), b.copy()) for W, b in problem.params]
    return Kernel(call=lambda: reference_step(net, params, X, Y, lr),
                  read=lambda: [(W.copy(), b.copy()) for W, b in params])
