"""JAX's pieces of the lecture's network, written once: the check, the training run and the benchmark's
step all use these.

    Z[L] = logits(X)       A W + b layer by layer, g between (the lecture's W (n_in, n_out) as it is)
    A[l] = g(Z[l])         hidden(net, Z): jax.nn.relu, jax.nn.sigmoid, jnp.tanh, leaky ReLU written out
    A[L] = f(Z[L])         output(net, Z): jax.nn.softmax over the classes, jax.nn.sigmoid, or Z itself
    J    = loss(Z[L], Y)   jax.nn.log_softmax, jax.nn.softplus, a squared error — each the reference's J,
                           a mean over the m rows, from the logits (JAX has no loss functions of its own;
                           optax has, but is optional here)
         + (c/2) Σ‖W‖²     l2_term(net, weights, m): weights only, c from the network's L2 convention
    Zhat = norm(Z)         normalize(net, Z, running): written out — JAX has no batch norm of its own (flax has; its
                           running variance is the biased one, as here): μ, σ² = jnp.mean, biased; (Z − μ)/√(σ² + ε)
    Adrop = A ⊙ D / p      dropout(net, A, D), the mask handed in
"""
import jax
import jax.numpy as jnp

from crosscheck.reference import l2_coefficient

ACTIVATIONS = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "identity": lambda Z: Z}


def hidden(net, Z):
    """g(Z).  Not jax.nn.leaky_relu: it branches on Z >= 0, so g'(0) = 1, where the lecture, torch and TF take
    g'(0) = slope."""
    if net.activation == "leaky_relu":
        return jnp.where(Z > 0, Z, net.leaky_slope * Z)
    return ACTIVATIONS[net.activation](Z)


def output(net, Z):
    """A[L] from the logits Z[L]; in training it lives inside the loss."""
    if net.loss == "softmax-ce":
        return jax.nn.softmax(Z, axis=1)
    return jax.nn.sigmoid(Z) if net.loss == "sigmoid-bce" else Z


def normalize(net, Z, running=None):
    """(Zhat, μ, σ²) with the batch's μ and biased σ², or (Zhat, None, None) with running = (μ_run, σ²_run)."""
    if running is None:
        mu = jnp.mean(Z, axis=0, keepdims=True)
        var = jnp.mean((Z - mu) ** 2, axis=0, keepdims=True)
        return (Z - mu) / jnp.sqrt(var + net.bn_eps), mu, var
    return (Z - running[0]) / jnp.sqrt(running[1] + net.bn_eps), None, None


def dropout(net, A, D):
    """Adrop = A ⊙ D / keep_prob with the shared mask D."""
    return A * D / net.keep_prob


def forward(net, params, X, masks=None, running=None):
    """Z[L] and the batch statistics [(μ, σ²) or None per layer] for params [(W, b) or (W, γ, β), …]: the batch's
    statistics, or with running = [(μ_run, σ²_run) or None per layer] the running averages; dropout with masks."""
    A, statistics = X, []
    for l, layer in enumerate(params, start=1):
        if net.normalized(l):
            W, gamma, beta = layer
            Zhat, mu, var = normalize(net, A @ W, None if running is None else running[l - 1])
            statistics.append(None if running is not None else (mu, var))
            Z = Zhat * gamma + beta
        else:
            W, b = layer
            Z = A @ W + b
            statistics.append(None)
        A = hidden(net, Z) if l < net.L else Z
        if masks is not None and net.dropout(l):
            A = dropout(net, A, masks[l - 1])
    return Z, statistics


def logits(net, params, X):
    """Z[L] for params [(W1, b1), …]: Z = A W + b, then g, layer by layer."""
    A = X
    for l, (W, b) in enumerate(params, start=1):
        Z = A @ W + b
        A = hidden(net, Z) if l < net.L else Z
    return Z


def loss(net, Z, Y):
    """The reference's J (without L2) from the logits Z[L] and the targets Y (m, n[L])."""
    m = Z.shape[0]
    if net.loss == "softmax-ce":
        return -jnp.sum(Y * jax.nn.log_softmax(Z, axis=1)) / m
    if net.loss == "sigmoid-bce":  # −[Y log A + (1−Y) log(1−A)] = softplus(Z) − Y Z, summed over the outputs
        return jnp.sum(jax.nn.softplus(Z) - Y * Z) / m
    return jnp.sum((Z - Y) ** 2) / (2 * m)


def l2_term(net, weights, m):
    """(c/2) Σ‖W‖² over the weight matrices (never the biases); 0 without L2."""
    if not net.l2:
        return 0
    c = l2_coefficient(net.l2, net.l2_convention, m)
    return c / 2 * sum(jnp.sum(W * W) for W in weights)
