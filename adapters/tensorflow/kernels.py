"""What `crosscheck bench` times in TensorFlow: a batched matmul, and one training step.

    matmul        tf.linalg.matmul on the device, in the case's dtype
    train_step    a GradientTape over ops.logits and ops.loss, then W ← W − α dW by assign_sub —
                  eager, or the whole step a tf.function
"""
import tensorflow as tf

from crosscheck.adapters.kernel import Kernel, matmul_inputs, nothing

from . import ops, place


def sync(device):
    return tf.test.experimental.sync_devices if device == "cuda" else nothing


def matmul(case):
    where = place(case["device"])
    with tf.device(where):
        a, b = (tf.cast(tf.constant(x), getattr(tf, case["dtype"])) for x in matmul_inputs(case["shape"], case["dtype"]))

    def call():
        with tf.device(where):
            return tf.linalg.matmul(a, b)

    return Kernel(call=call, sync=sync(case["device"]))


def train_step(case, problem):
    net, lr, where = problem.net, problem.lr, place(case["device"])
    with tf.device(where):
        variables = [tf.Variable(value) for W, b in problem.params for value in (W, b)]
        X, Y = tf.constant(problem.X), tf.constant(problem.Y)

    def step():
        with tf.GradientTape() as tape:
            J = ops.loss(net, ops.logits(net, variables, X), Y)
        for v, g in zip(variables, tape.gradient(J, variables)):
            v.assign_sub(lr * g)

    if case["mode"] == "compiled":
        step = tf.function(step)

    def call():
        with tf.device(where):
            step()

    def read():
        values = [v.numpy() for v in variables]
        return list(zip(values[::2], values[1::2]))

    return Kernel(call=call, sync=sync(case["device"]), read=read)
