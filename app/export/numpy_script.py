"""The numpy script, the tutorial's "Python 实现": the forward pass, every δ, the gradients
and the update written out in its notation, with only the functions the network uses (its
activations, its loss, its output layer's δ rule and its optimiser's update)."""

from string import Template
from typing import Any

from app.engine import LOSSES, State
from app.export.source import literal, nested
from app.export.torch_script import OPTIMIZERS
from app.view.ids import neuron_name

ACTIVATION_CODE = {
    "sigmoid": """\
def sigmoid(net):
    return 1 / (1 + np.exp(-net))


def sigmoid_df(net, out):
    return out * (1 - out)  # ∂out/∂net = out (1 − out)""",
    "tanh": """\
def tanh(net):
    return np.tanh(net)


def tanh_df(net, out):
    return 1 - out * out  # ∂out/∂net = 1 − out²""",
    "relu": """\
def relu(net):
    return np.maximum(net, 0.0)


def relu_df(net, out):
    return (net > 0) * 1.0  # 1 where net > 0, else 0 (0 at net = 0, as torch takes it)""",
    "leaky_relu": """\
def leaky_relu(net):
    return np.where(net > 0, net, 0.01 * net)  # slope 0.01 below 0, torch's default


def leaky_relu_df(net, out):
    return np.where(net > 0, 1.0, 0.01)""",
    "linear": """\
def linear(net):
    return net


def linear_df(net, out):
    return np.ones_like(net)""",
    "softmax": """\
def softmax(net):
    e = np.exp(net - net.max(axis=1, keepdims=True))  # the largest net taken out: no overflow
    return e / e.sum(axis=1, keepdims=True)""",
}
LOSS_CODE = {
    "half_sse": '''\
def loss(target, out, net):
    """E_o = ½ (target_o − out_o)², the tutorial's."""
    return 0.5 * (target - out) ** 2


def dloss(target, out):
    """∂E/∂out_o = −(target_o − out_o)"""
    return -(target - out)''',
    "mse": '''\
def loss(target, out, net):
    """E_o = (target_o − out_o)² / n, the mean over the n outputs (torch's mse_loss)."""
    return (target - out) ** 2 / target.shape[1]


def dloss(target, out):
    """∂E/∂out_o = −2 (target_o − out_o) / n"""
    return -2 * (target - out) / target.shape[1]''',
    "bce": '''\
def loss(target, out, net):
    """E_o = −(t·log out + (1 − t)·log(1 − out)) / n, the mean over the n outputs, from net:
    max(net, 0) − net·t + log(1 + e^−|net|), finite where out rounds to 0 or 1 (as torch's
    binary_cross_entropy_with_logits)."""
    n = target.shape[1]
    return (np.maximum(net, 0) - net * target + np.log1p(np.exp(-np.abs(net)))) / n''',
    "cross_entropy": '''\
def loss(target, out, net):
    """E_o = −target_o · log out_o, from net: log out = net − log Σ e^net (as torch's
    cross_entropy with probability targets)."""
    shifted = net - net.max(axis=1, keepdims=True)
    return -target * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))''',
}
# The output layer's δ, by the pair (loss, output activation) or the activation alone.
OUTPUT_DELTA = {
    "bce": """\
    # σ and the cross-entropy cancel: δ_o = ∂E/∂out_o · ∂out_o/∂net_o = (out_o − target_o) / n
    delta[-1] = (out[-1] - target) / target.shape[1]""",
    "cross_entropy": """\
    # softmax and the cross-entropy cancel: δ_o = out_o − target_o (the targets sum to 1)
    delta[-1] = out[-1] * target.sum(axis=1, keepdims=True) - target""",
    "softmax": """\
    dE_dout = dloss(target, out[-1])  # ∂E/∂out_o
    # softmax couples its outputs: δ_j = Σ_k ∂E/∂out_k · ∂out_k/∂net_j
    #                                  = out_j (∂E/∂out_j − Σ_k ∂E/∂out_k · out_k)
    delta[-1] = out[-1] * (dE_dout - (dE_dout * out[-1]).sum(axis=1, keepdims=True))""",
    None: """\
    dE_dout = dloss(target, out[-1])  # ∂E/∂out_o
    f, df = ACTIVATIONS[-1]
    delta[-1] = dE_dout * df(net[-1], out[-1])  # δ_o = ∂E/∂out_o · ∂out_o/∂net_o""",
}
UPDATE_CODE = {
    "plain": '''\
def update(w, g, s, t):
    """Plain gradient descent, the tutorial's: w⁺ = w − η · ∂E/∂w."""
    return w - CURRENT_LEARNING_RATE * g''',
    "sgd": '''\
def update(w, g, s, t):
    """torch.optim.SGD's rule at step t (from 1): g ← g + λ·w; b ← g at t = 1, else
    μ·b + (1 − dampening)·g; w⁺ = w − η·b, or w − η·(g + μ·b) with nesterov."""
    o, lr = OPTIMIZER, CURRENT_LEARNING_RATE
    if o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    if o["momentum"] == 0:
        return w - lr * g
    b = g if t == 1 else s["momentum_buffer"] * o["momentum"] + (1 - o["dampening"]) * g
    return w - lr * (g + o["momentum"] * b if o["nesterov"] else b)''',
    "rmsprop": '''\
def update(w, g, s, t):
    """torch.optim.RMSprop's rule: g ← g + λ·w; v ← α·v + (1 − α)·g²; avg = √v + ε (centered:
    ḡ ← α·ḡ + (1 − α)·g and avg = √(v − ḡ²) + ε); w⁺ = w − η·g/avg, or with momentum μ:
    b ← μ·b + g/avg, w⁺ = w − η·b."""
    o, lr = OPTIMIZER, CURRENT_LEARNING_RATE
    if o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    v = s["square_avg"] * o["alpha"] + (1 - o["alpha"]) * g * g
    if o["centered"]:
        g_avg = s["grad_avg"] * o["alpha"] + (1 - o["alpha"]) * g
        avg = np.sqrt(v - g_avg * g_avg) + o["eps"]
    else:
        avg = np.sqrt(v) + o["eps"]
    if o["momentum"] > 0:
        return w - lr * (s["momentum_buffer"] * o["momentum"] + g / avg)
    return w - lr * g / avg''',
    "adagrad": '''\
def update(w, g, s, t):
    """torch.optim.Adagrad's rule: g ← g + λ·w; s ← s + g²; w⁺ = w − clr·g/(√s + ε), with
    clr = η / (1 + (t − 1)·lr_decay)."""
    o, lr = OPTIMIZER, CURRENT_LEARNING_RATE
    if o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    clr = lr / (1 + (t - 1) * o["lr_decay"])
    total = s["sum"] + g * g
    return w - clr * g / (np.sqrt(total) + o["eps"])''',
    "adam": '''\
def update(w, g, s, t):
    """torch.optim.$name's rule: $decay
    m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²; m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
    (amsgrad: v the largest so far); w⁺ = w − η·m̂/(√v̂ + ε)."""
    o, lr = OPTIMIZER, CURRENT_LEARNING_RATE
    beta1, beta2 = o["betas"]
    if o["weight_decay"] != 0:
        $decay_code
    m = s["exp_avg"] * beta1 + (1 - beta1) * g
    v = s["exp_avg_sq"] * beta2 + (1 - beta2) * g * g
    if o["amsgrad"]:
        v = np.maximum(s["max_exp_avg_sq"], v)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + o["eps"])''',
}
ADAM_DECAY = {
    "adam": ("g ← g + λ·w (the weight decay);", 'g = g + o["weight_decay"] * w'),
    "adamw": (
        "w ← w·(1 − η·λ) (the weight decay, decoupled);",
        'w = w * (1 - lr * o["weight_decay"])',
    ),
}


def fields(state: State) -> dict[str, str]:
    network, training = state.network, state.training
    layers = network.layers
    neurons = [[neuron_name(layers, l, j) for j in range(n)] for l, n in enumerate(layers)]
    used = list(dict.fromkeys(network.activations))
    pairs = [
        f"({name}, None)" if name == "softmax" else f"({name}, {name}_df)"
        for name in network.activations
    ]
    output = network.activations[-1]
    if output in LOSSES[network.loss].fused:  # the loss and the activation cancel
        delta = network.loss
    else:
        delta = "softmax" if output == "softmax" else None
    options = training.optimizer
    name = options["name"]
    plain = name == "sgd" and options["momentum"] == options["weight_decay"] == 0
    update = UPDATE_CODE["plain" if plain else "adam" if name.startswith("adam") else name]
    if name.startswith("adam"):
        doc, code = ADAM_DECAY[name]
        update = Template(update).substitute(name=OPTIMIZERS[name], decay=doc, decay_code=code)
    return {
        "layers": repr(list(layers)),
        "neurons": nested(neurons),
        "optimizer": _optimizer(training.optimizer),
        "activations": "\n\n\n".join(ACTIVATION_CODE[a] for a in used),
        "pairs": "[" + ", ".join(pairs) + "]",
        "loss": LOSS_CODE[network.loss],
        "output_delta": OUTPUT_DELTA[delta],
        "update": update,
    }


def _optimizer(optimizer: dict[str, Any]) -> str:
    items = [f'"{k}": {literal(v)}' for k, v in optimizer.items()]
    one_line = "{" + ", ".join(items) + "}"
    return one_line if len(one_line) <= 80 else "{\n" + "".join(f"    {i},\n" for i in items) + "}"


TEMPLATE = '''\
#!/usr/bin/env python3
"""backprop-lab network $code, iteration $iteration, in plain numpy: the tutorial's
"Python 实现", with this network's numbers.

The forward pass, every δ, the gradients and the update, in the tutorial's notation; for
neuron j of a layer and neuron i of the layer before it:

    net_j = Σ_i w_ji · out_i + b_j        its total input
    out_j = f(net_j)                      its output (the input layer's out: the inputs)
    E = Σ_o E_o                           a sample's loss, over the output neurons o;
                                          E_total, the batch's: the mean over its samples
    δ_j = ∂E/∂net_j = ∂E/∂out_j · ∂out_j/∂net_j
    ∂E/∂out_i = Σ_j δ_j · w_ji            (a hidden neuron: every path through the next layer)
    ∂E/∂w_ji = δ_j · out_i, ∂E/∂b_j = δ_j    (the batch's: the mean over its samples)
    w⁺ = w − η · ∂E/∂w                    (plain gradient descent; update() below is the
                                          optimiser's rule)

    python $filename
        the forward pass and every δ of the batch's sample 0, the loss, the gradients and
        the update, by name
    python $filename --sample 3
        the same, showing the batch's sample 3
    python $filename --json
        one JSON object: batch, loss, weight_grads, bias_grads and deltas (of the sample)
        as POST /api/networks/{id}/backward answers them, weights and biases as POST …/step
        does (after the update)

Needs numpy only.
"""

import argparse
import json

import numpy as np

LAYERS = $layers  # neurons per layer, input first
NEURONS = $neurons

$data

# The update rule, torch.optim's, with its options.
OPTIMIZER = $optimizer


# The activations, each f(net) with its derivative ∂out/∂net beside it.


$activations


ACTIVATIONS = $pairs  # (f, ∂out/∂net) per non-input layer


# The loss of one sample, per output neuron o.


$loss


# The update of one parameter (a weight matrix or a bias vector) w with its gradient g,
# its optimiser state s at step t (from 1); η is CURRENT_LEARNING_RATE.


$update


def iteration():
    """The iteration: forward pass, loss, backward pass, gradients and update."""
    weights = [np.array(w) for w in WEIGHTS]
    biases = [np.array(b) for b in BIASES]
    x = np.array(INPUTS)[BATCH]  # the batch, one sample a row
    target = np.array(TARGETS)[BATCH]
    n = len(BATCH)

    # The forward pass, layer by layer: net = Σ_i w_ji · out_i + b_j, out = f(net)
    net, out = [], [x]
    for w, b, (f, _) in zip(weights, biases, ACTIVATIONS):
        net.append(out[-1] @ w.T + b)
        out.append(f(net[-1]))

    # The loss: E = Σ_o E_o of each sample; E_total, their mean
    E_o = loss(target, out[-1], net[-1])
    E_total = E_o.sum() / n

    # The backward pass, from the output layer back: δ = ∂E/∂net of each sample
    L = len(weights)
    delta = [None] * L
$output_delta
    for l in reversed(range(L - 1)):
        dE_dout = delta[l + 1] @ weights[l + 1]  # ∂E/∂out_i = Σ_j δ_j · w_ji
        f, df = ACTIVATIONS[l]
        delta[l] = dE_dout * df(net[l], out[l + 1])  # δ = ∂E/∂out · ∂out/∂net

    # The gradients, the batch's mean: ∂E/∂w_ji = δ_j · out_i, ∂E/∂b_j = δ_j
    weight_grads = [d.T @ o / n for d, o in zip(delta, out)]
    bias_grads = [d.sum(axis=0) / n for d in delta]

    # The update of what the optimiser updates: the weights, and the biases if UPDATE_BIASES
    params = weights + biases if UPDATE_BIASES else weights
    grads = weight_grads + bias_grads if UPDATE_BIASES else weight_grads
    states = [
        {key: np.array(values[k]) for key, values in OPTIMIZER_STATE.items()}
        for k in range(len(params))
    ]
    updated = [update(w, g, s, STEP + 1) for w, g, s in zip(params, grads, states)]
    new_biases = updated[L:] if UPDATE_BIASES else biases
    return {
        "net": plain(net),
        "out": plain(out),
        "E_o": E_o.tolist(),
        "loss": float(E_total),
        "deltas": plain(delta),
        "weight_grads": plain(weight_grads),
        "bias_grads": plain(bias_grads),
        "weights": plain(updated[:L]),
        "biases": plain(new_biases),
    }


def plain(arrays):
    return [a.tolist() for a in arrays]


def flat(values):
    """The items of nested lists, in order (names and numbers of w1, w2, …, b1_1, …)."""
    return [y for x in values for y in flat(x)] if isinstance(values, list) else [values]


def show(r, k):
    print(f"backprop-lab network $code, iteration $iteration, on {len(BATCH)} of the", end=" ")
    print(f"{len(INPUTS)} training samples")
    print(f"Sample {k} of the batch (training row {BATCH[k]}), the forward pass:")
    for l in range(1, len(LAYERS)):
        for j, name in enumerate(NEURONS[l]):
            net, out = r["net"][l - 1][k][j], r["out"][l][k][j]
            print(f"  net_{name} = {net!r:<24} out_{name} = {out!r}")
    E = ", ".join(f"E_{o} = {e!r}" for o, e in zip(NEURONS[-1], r["E_o"][k]))
    print(f"  E = {sum(r['E_o'][k])!r} ({E})")
    print(f"Sample {k}, the backward pass: delta = dE/dnet")
    for l in reversed(range(1, len(LAYERS))):
        for j, name in enumerate(NEURONS[l]):
            print(f"  delta_{name} = {r['deltas'][l - 1][k][j]!r}")
    print(f"E_total = {r['loss']!r} (the batch's mean)")
    print("Gradients, the batch's mean:")
    names = flat(WEIGHT_NAMES) + flat(BIAS_NAMES)
    for name, g in zip(names, flat(r["weight_grads"]) + flat(r["bias_grads"])):
        print(f"  dE/d{name} = {g!r}")
    kept = "" if UPDATE_BIASES else ", the biases kept"
    print(f"The update ({OPTIMIZER['name']}, lr {CURRENT_LEARNING_RATE!r}{kept}):")
    before = flat(WEIGHTS) + flat(BIASES)
    for name, w, w_new in zip(names, before, flat(r["weights"]) + flat(r["biases"])):
        print(f"  {name} = {w!r} -> {w_new!r}")


def main():
    parser = argparse.ArgumentParser(description="backprop-lab network $code, in numpy")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sample", type=int, default=0, help="the sample of the batch to show")
    args = parser.parse_args()
    if not 0 <= args.sample < len(BATCH):
        parser.error(f"--sample: from 0 to {len(BATCH) - 1}")
    r = iteration()
    if args.json:
        keys = ("loss", "weight_grads", "bias_grads", "weights", "biases")
        printed = {key: r[key] for key in keys}
        printed["batch"] = BATCH
        printed["deltas"] = [d[args.sample] for d in r["deltas"]]
        print(json.dumps(printed))
    else:
        show(r, args.sample)


if __name__ == "__main__":
    main()
'''
