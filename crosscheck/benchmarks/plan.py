"""What is timed: the cases of a run, the FLOPs each one does, and the problem every train step starts from.

    plan(...) -> [case]     a case is a dict: op, framework, device, dtype, mode, and shape (matmul) or config
    case_label(case)        'torch-cpu-float32-1x300x4x3' or 'jax-cpu-float64-wide-compiled'
"""
from dataclasses import dataclass
from typing import NamedTuple

from crosscheck.adapters import FRAMEWORKS, having

OPS = ("batched_matmul", "train_step")
DEVICES = ("cpu", "cuda")
CPU_DTYPES = ("float32", "float64")
GPU_DTYPES = ("float32", "float64", "bfloat16", "float16")
TIMED = having("kernels")  # numpy (the reference), torch, tensorflow, jax, cupy

# (B, M, K, N): B products of (M, K) @ (K, N).  The lecture's Z2 = A1 W2 first, then up to compute-bound.
MATMUL_SWEEP = {
    "cpu": [(1, 300, 4, 3), (1, 256, 256, 256), (512, 64, 64, 64), (1, 1024, 784, 1024),
            (64, 256, 256, 256), (1, 1024, 1024, 1024), (1, 2048, 2048, 2048)],
    "cuda": [(1, 300, 4, 3), (1, 256, 256, 256), (512, 64, 64, 64), (1, 1024, 784, 1024),
             (64, 256, 256, 256), (1, 1024, 1024, 1024), (1, 2048, 2048, 2048),
             (1, 4096, 4096, 4096), (1, 8192, 8192, 8192)],
}
MATMUL_QUICK = [(1, 300, 4, 3), (512, 64, 64, 64), (1, 1024, 1024, 1024)]
# the smallest shapes, for the smoke run of bench/ (pytest --benchmark-disable) and the CLI's tests
MATMUL_SMOKE = [(1, 300, 4, 3), (4, 16, 16, 16)]


@dataclass(frozen=True)
class TrainConfig:
    """A network and its batch: the sizes [n0, …, nL], m examples, the init scheme, the SGD step α."""
    sizes: tuple
    batch: int
    init: str
    learning_rate: float = 0.1


TRAIN_CONFIGS = {
    "lecture": TrainConfig((2, 4, 3), 300, "lecture"),          # the spiral, as in the lecture
    "wide": TrainConfig((784, 1024, 1024, 10), 1024, "he"),     # GEMM-bound: an MNIST-sized MLP
}

# the reference's train step at the wide config should stay within these factors of the fastest framework,
# and of its GEMM floor (its FLOPs at NumPy's best batched-matmul rate in the same run)
REFERENCE_TARGET = 1.15
FLOOR_TARGET = 1.25
TARGET_CONFIG = "wide"

# the shape each framework's self-check times with a plain loop beside the harness, where the run has it
REPRESENTATIVE_SHAPE = [1, 1024, 1024, 1024]


def matmul_flops(shape):
    """2·B·M·K·N: one multiply and one add per term of each of the B·M·N dot products of length K."""
    B, M, K, N = shape
    return 2 * B * M * K * N


def train_step_flops(sizes, m):
    """The GEMMs of one training step of the N-layer network on m examples.

    Per layer (n_in -> n_out): forward Z = A W, 2·m·n_in·n_out; backward dW = Aᵀ dZ, the same again,
    and dA_prev = dZ Wᵀ, the same again — except in the first layer, where dA_prev would be dX.
    Element-wise work (bias, ReLU, softmax, the update) is not counted: it is O(m·n), not O(m·n²).
    """
    total = 0
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        gemm = 2 * m * n_in * n_out
        total += gemm * (2 if l == 1 else 3)
    return total


def case_flops(case):
    if case["op"] == "batched_matmul":
        return matmul_flops(case["shape"])
    config = TRAIN_CONFIGS[case["config"]]
    return train_step_flops(config.sizes, config.batch)


def gflops(flops, seconds):
    """GFLOP/s = flops / seconds / 1e9 (None when nothing was timed)."""
    return flops / seconds / 1e9 if seconds and seconds > 0 else None


class TrainProblem(NamedTuple):
    """What every framework's train step starts from: the network, fresh parameters, the data, the step α."""
    net: object
    params: list
    X: object
    Y: object
    lr: float


def train_problem(config_name, dtype):
    """The same problem for every framework: the lecture config is the lecture's spiral and init, the wide
    one Gaussian data and He init.  params [(W, b), …] are fresh NumPy arrays."""
    from crosscheck.reference import Network, init_params, make_data
    config = TRAIN_CONFIGS[config_name]
    net = Network(config.sizes)
    params = init_params(net, config.init, seed=0, dtype=dtype)
    X, Y = make_data(net, config.batch, seed=0, dtype=dtype)
    return TrainProblem(net, params, X, Y, config.learning_rate)


def plan(frameworks=TIMED, devices=("cpu",), ops=OPS, dtypes=None, shapes=None, configs=None,
         modes=("eager", "compiled"), quick=False):
    """The cases to run, each a dict: op, framework, device, dtype, mode and shape or config.

    dtypes None means float32 and float64, plus bfloat16 and float16 for matmul on cuda; shapes None
    the sweep of the device (the quick one with quick=True); configs None both train-step configs.
    A framework with one train-step mode (numpy) runs it whatever `modes` says.
    """
    cases = []
    for name in frameworks:
        framework = FRAMEWORKS[name]
        for device in devices:
            if device not in framework.devices:
                continue
            for op in ops:
                if op == "batched_matmul":
                    kinds = [("shape", list(s)) for s in (shapes or (MATMUL_QUICK if quick else MATMUL_SWEEP[device]))]
                    op_modes, default_dtypes = (framework.matmul_mode,), GPU_DTYPES if device == "cuda" else CPU_DTYPES
                else:
                    kinds = [("config", c) for c in (configs or tuple(TRAIN_CONFIGS))]
                    op_modes = [m for m in framework.modes if m in modes or len(framework.modes) == 1]
                    default_dtypes = CPU_DTYPES
                for dtype in (dtypes or default_dtypes):
                    if dtype not in (GPU_DTYPES if device == "cuda" else CPU_DTYPES):
                        continue
                    if op == "train_step" and dtype not in CPU_DTYPES:
                        continue
                    for key, value in kinds:
                        for mode in op_modes:
                            cases.append({"op": op, "framework": name, "device": device,
                                          "dtype": dtype, "mode": mode, key: value})
    return cases


def case_label(case):
    """'torch-cpu-float32-1x300x4x3' or 'jax-cpu-float64-wide-compiled': a pytest id, a progress line."""
    what = "x".join(map(str, case["shape"])) if case["op"] == "batched_matmul" else case["config"]
    label = f"{case['framework']}-{case['device']}-{case['dtype']}-{what}"
    several_modes = len(FRAMEWORKS[case["framework"]].modes) > 1
    return label + (f"-{case['mode']}" if case["op"] == "train_step" and several_modes else "")


def representative(cases):
    """The case of one framework's cases that the harness checks itself on: 1×1024×1024×1024 in float32 where
    the run has it, else its largest matmul, else its largest train step (eager before compiled)."""
    def rank(c):
        matmul = c["op"] == "batched_matmul"
        return (matmul and list(c["shape"]) == REPRESENTATIVE_SHAPE, matmul, c.get("mode") != "compiled",
                c["dtype"] == "float32", case_flops(c))
    return max(cases, key=rank) if cases else None


QUICK_REASON = ("--quick times one mode per framework: torch eager (torch.compile's first compile takes ~30 s here), "
                "tf.function, jax.jit")


def one_mode_each(cases):
    """(kept, left out): the train steps of each framework's quick mode only, for --quick."""
    left_out = [c for c in cases if c["op"] == "train_step" and c["mode"] != FRAMEWORKS[c["framework"]].quick_mode]
    return [c for c in cases if c not in left_out], left_out
