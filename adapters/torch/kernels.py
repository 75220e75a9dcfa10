"""What `crosscheck bench` times in PyTorch: a batched matmul, and one training step of train.py's model.

    matmul        a @ b on the device, in the case's dtype
    train_step    zero_grad, ops.loss(model(X), Y).backward(), SGD step — eager, or the loss torch.compile'd
"""
import torch

from crosscheck.adapters.kernel import Kernel, matmul_inputs, nothing

from . import bridge, ops
from .train import sequential


def sync(device):
    return torch.cuda.synchronize if device == "cuda" else nothing


def matmul(case):
    a, b = (torch.from_numpy(x).to(case["device"], getattr(torch, case["dtype"]))
            for x in matmul_inputs(case["shape"], case["dtype"]))
    return Kernel(call=lambda: a @ b, sync=sync(case["device"]))


def train_step(case, problem):
    net, device = problem.net, case["device"]
    model = sequential(net, problem.params).to(device)
    X, Y = torch.from_numpy(problem.X).to(device), torch.from_numpy(problem.Y).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.lr)

    def cost(X, Y):
        return ops.loss(net, model(X), Y)

    if case["mode"] == "compiled":
        cost = torch.compile(cost)

    def step():
        optimizer.zero_grad(set_to_none=True)
        cost(X, Y).backward()
        optimizer.step()

    return Kernel(call=step, sync=sync(device), read=lambda: bridge.params_from_state_dict(model.state_dict()))
