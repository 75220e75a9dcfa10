"""TensorFlow's pieces of the lecture's network, written once: the check, the training run and the
benchmark's step all use these.

    Z[L] = logits(X)       A W + b layer by layer, g between (tf.matmul: W is the lecture's (n_in, n_out))
    A[l] = g(Z[l])         hidden(net, Z): tf.nn.relu, tf.sigmoid, tf.tanh, leaky ReLU written out
    A[L] = f(Z[L])         output(net, Z): tf.nn.softmax, tf.sigmoid, or Z itself
    J    = loss(Z[L], Y)   tf.nn.softmax_cross_entropy_with_logits, sigmoid_cross_entropy_with_logits, a
                           squared error — each the reference's J, a mean over the m rows, from the logits
         + (c/2) Σ‖W‖²     l2_term(net, weights, m): weights only, c from the network's L2 convention
    Zhat = norm(Z)         tf.nn.moments (σ² biased) and tf.nn.batch_normalization, with the running averages at
                           inference; Ztilde = γ Zhat + β
    Adrop = A ⊙ D / p      dropout with the mask handed in (tf.nn.dropout draws its own)
"""
import tensorflow as tf

from crosscheck.reference import l2_coefficient

ACTIVATIONS = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh, "identity": tf.identity}


def hidden(net, Z):
    """g(Z).  Leaky ReLU is written out: tf.nn.leaky_relu keeps its slope as a float32 attribute, so a
    float64 run would use 0.01 rounded to float32 (off by 2e-9)."""
    if net.activation == "leaky_relu":
        return tf.where(Z > 0, Z, net.leaky_slope * Z)
    return ACTIVATIONS[net.activation](Z)


def output(net, Z):
    """A[L] from the logits Z[L]; in training it lives inside the loss."""
    if net.loss == "softmax-ce":
        return tf.nn.softmax(Z)
    return tf.sigmoid(Z) if net.loss == "sigmoid-bce" else Z


def logits(net, variables, X):
    """Z[L] for variables [W1, b1, W2, b2, …]: Z = A W + b, then g, layer by layer."""
    A = X
    for l in range(1, net.L + 1):
        Z = tf.matmul(A, variables[2 * l - 2]) + variables[2 * l - 1]
        A = hidden(net, Z) if l < net.L else Z
    return Z


def loss(net, Z, Y):
    """The reference's J (without L2) from the logits Z[L] and the targets Y (m, n[L])."""
    if net.loss == "softmax-ce":
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=Y, logits=Z))
    m = tf.cast(tf.shape(Z)[0], Z.dtype)
    if net.loss == "sigmoid-bce":  # summed over the outputs, averaged over the rows
        return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=Y, logits=Z)) / m
    return tf.reduce_sum(tf.square(Z - Y)) / (2 * m)


def l2_term(net, weights, m):
    """(c/2) Σ‖W‖² over the weight matrices (never the biases); 0 without L2.  m may be a tensor."""
    if not net.l2:
        return 0
    if net.l2_convention == "course":  # c = λ/m depends on the batch's m
        c = net.l2 / tf.cast(m, weights[0].dtype)
    else:
        c = l2_coefficient(net.l2, net.l2_convention, 1)
    return c / 2 * tf.add_n([tf.reduce_sum(tf.square(W)) for W in weights])


def normalize(net, Z, running=None):
    """(Zhat, μ, σ²): Z normalized by the batch's μ and biased σ² (tf.nn.moments), or, given running = (μ_run,
    σ²_run), by those (μ, σ² then None) — tf.nn.batch_normalization with the network's ε, no scale or shift."""
    if running is None:
        mu, var = tf.nn.moments(Z, axes=[0], keepdims=True)
        return tf.nn.batch_normalization(Z, mu, var, None, None, net.bn_eps), mu, var
    return tf.nn.batch_normalization(Z, running[0], running[1], None, None, net.bn_eps), None, None


def dropout(net, A, D):
    """Adrop = A ⊙ D / keep_prob with the shared mask D."""
    return A * D / net.keep_prob


def forward(net, layers, X, masks=None, running=None):
    """Z[L] and the batch statistics [(μ, σ²) or None per layer] for layers [[W, b] or [W, γ, β], …]: Z = A W (+ b),
    normalized and scaled (batch statistics, or with running = [(μ_run, σ²_run) or None per layer] the running
    averages), g, dropout with the masks."""
    A, statistics = X, []
    for l, layer in enumerate(layers, start=1):
        if net.normalized(l):
            W, gamma, beta = layer
            Z = tf.matmul(A, W)
            if running is None:
                mu, var = tf.nn.moments(Z, axes=[0], keepdims=True)
                statistics.append((mu, var))
            else:
                (mu, var), _ = running[l - 1], statistics.append(None)
            Z = tf.nn.batch_normalization(Z, mu, var, beta, gamma, net.bn_eps)  # γ (Z − μ) / √(σ² + ε) + β
        else:
            W, b = layer
            Z = tf.matmul(A, W) + b
            statistics.append(None)
        A = hidden(net, Z) if l < net.L else Z
        if masks is not None and net.dropout(l):
            A = dropout(net, A, masks[l - 1])
    return Z, statistics
