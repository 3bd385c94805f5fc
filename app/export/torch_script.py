"""The PyTorch script: the network as a torch.nn.Sequential of Linear layers and their
activations, the loss by torch.nn.functional, the optimiser by torch.optim with its state
loaded, the schedule by torch.optim.lr_scheduler moved on to where the network is."""

from typing import Any

from app.engine import State
from app.export.source import call

MODULES = {
    "sigmoid": "torch.nn.Sigmoid()",
    "tanh": "torch.nn.Tanh()",
    "relu": "torch.nn.ReLU()",
    "leaky_relu": "torch.nn.LeakyReLU(0.01)",
    "linear": "torch.nn.Identity()",
    "softmax": "torch.nn.Softmax(dim=1)",
}
TORCH_LOSSES = {
    "half_sse": (
        "E = Σ_o ½ (target_o − out_o)² of each sample, the tutorial's; E_total their mean.",
        "(0.5 * (target - out) ** 2).sum(dim=1).mean()",
    ),
    "mse": (
        "torch's mse_loss: the mean of (target − out)² over the outputs and the samples.",
        "F.mse_loss(out, target)",
    ),
    "bce": (
        "Binary cross-entropy, the mean over outputs and samples, from the output layer's\n"
        "    net (σ inside: finite where out rounds to 0 or 1).",
        "F.binary_cross_entropy_with_logits(net, target)",
    ),
    "cross_entropy": (
        "−Σ_o target_o · log out_o of each sample (probability targets), from the output\n"
        "    layer's net (softmax inside); E_total their mean.",
        "F.cross_entropy(net, target)",
    ),
}
OPTIMIZERS = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamw": "AdamW",
}
SCHEDULERS = {
    "step": "StepLR",
    "multistep": "MultiStepLR",
    "exponential": "ExponentialLR",
    "cosine": "CosineAnnealingLR",
    "linear": "LinearLR",
}


def fields(state: State) -> dict[str, str]:
    network, training = state.network, state.training
    layers, depth = network.layers, network.depth
    modules = []
    for l, (m, n, name) in enumerate(zip(layers, layers[1:], network.activations)):
        what = "the output layer" if l == depth - 1 else f"layer {l + 1}"
        modules.append(f"    torch.nn.Linear({m}, {n}),  # {what}")
        modules.append(f"    {MODULES[name]},")
    loss_doc, loss_expr = TORCH_LOSSES[network.loss]
    imports = ["import torch"] + (["import torch.nn.functional as F"] if "F." in loss_expr else [])
    optimizer = call(
        f"torch.optim.{OPTIMIZERS[training.optimizer['name']]}",
        ["params", "lr=LEARNING_RATE"],
        training.optimizer | {"foreach": False},
    )
    return {
        "imports": "\n".join(imports),
        "modules": "\n".join(modules),
        "loss_doc": loss_doc,
        "loss_expr": loss_expr,
        "params": (
            "[linear.weight for linear in linears] + [linear.bias for linear in linears]"
            if training.update_biases
            else "[linear.weight for linear in linears]  # not the biases: UPDATE_BIASES is false"
        ),
        "optimizer": optimizer,
        "optimizer_state": _torch_state(training.optimizer),
        "scheduler": _torch_scheduler(training.schedule),
    }


def _torch_state(optimizer: dict[str, Any]) -> str:
    if optimizer["name"] == "sgd" and optimizer["momentum"] == 0:
        return "# SGD without momentum keeps no state."
    if optimizer["name"] == "sgd":
        return (
            "# SGD keeps no step count, only momentum_buffer, None before the first step\n"
            "# (which starts it at the gradient itself).\n"
            "if STEP > 0:\n"
            '    for p, buffer in zip(params, OPTIMIZER_STATE["momentum_buffer"]):\n'
            '        optimizer.state[p]["momentum_buffer"] = torch.tensor(buffer)'
        )
    return (
        "# Its state: step (a tensor, as torch keeps it) and the entries of OPTIMIZER_STATE.\n"
        "for k, p in enumerate(params):\n"
        '    optimizer.state[p]["step"] = torch.tensor(float(STEP))\n'
        "    for name, values in OPTIMIZER_STATE.items():\n"
        "        optimizer.state[p][name] = torch.tensor(values[k])"
    )


def _torch_scheduler(schedule: dict[str, Any]) -> str:
    if schedule["name"] == "constant":
        return "scheduler = None  # constant: η stays as it is"
    scheduler = f"torch.optim.lr_scheduler.{SCHEDULERS[schedule['name']]}"
    return (
        f"scheduler = {call(scheduler, ['optimizer'], schedule)}\n"
        "# Made as at the start of training, from η₀ = LEARNING_RATE (its base_lrs), and moved\n"
        "# on to where backprop-lab is: STEP iterations done, and this iteration's η (below).\n"
        "# Its next step() then goes on from the group's lr, as backprop-lab's schedule does\n"
        "# (both in torch's recursive form, its get_lr; checked with torch 2.13).\n"
        "scheduler.last_epoch = STEP"
    )


TEMPLATE = '''\
#!/usr/bin/env python3
"""backprop-lab network $code, iteration $iteration, in PyTorch.

The same network, parameters, batch, optimiser (with its state) and learning rate as in
backprop-lab, in float64, so that the loss, the gradients and the updated parameters are
backprop-lab's, to rounding. Needs torch >= 2.

    python $filename
        the loss, each gradient and each updated parameter, by name
    python $filename --json
        one JSON object: batch, loss, weight_grads and bias_grads as the API answers them
        (the batch's rows, its E_total and mean gradients, weight_grads[l][j][i] and
        bias_grads[l][j]), weights and biases as POST /api/networks/{id}/step does (after
        the update), learning_rate and next_learning_rate (the schedule's, after it)

Names as in backprop-lab: weights[l][j][i] is torch's linear.weight[j][i], from neuron i of
layer l to neuron j of layer l+1, numbered w1, w2, … layer by layer and row by row;
biases[l][j] is b{l+1}_{j+1}.
"""

import argparse
import json

$imports

torch.set_default_dtype(torch.float64)  # backprop-lab computes in float64

$data

# The network: per layer a Linear (net = out · wᵀ + b) and its activation (out = f(net)).
model = torch.nn.Sequential(
$modules
)
linears = model[0::2]
with torch.no_grad():
    for linear, w, b in zip(linears, WEIGHTS, BIASES):
        linear.weight.copy_(torch.tensor(w))
        linear.bias.copy_(torch.tensor(b))


def loss_of(net, out, target):
    """$loss_doc"""
    return $loss_expr


# The optimiser, torch's, with backprop-lab's options (foreach=False: torch's single-tensor
# code, whose order of operations backprop-lab follows).
params = $params
optimizer = $optimizer
$optimizer_state

# The schedule.
$scheduler
for group in optimizer.param_groups:
    group["lr"] = CURRENT_LEARNING_RATE  # η of this iteration


def flat(values):
    """The items of nested lists, in order (names and numbers of w1, w2, …, b1_1, …)."""
    return [y for x in values for y in flat(x)] if isinstance(values, list) else [values]


def main():
    parser = argparse.ArgumentParser(description="backprop-lab network $code, in PyTorch")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    inputs = torch.tensor(INPUTS)[BATCH]  # the batch, one sample a row
    targets = torch.tensor(TARGETS)[BATCH]
    net = model[:-1](inputs)  # the output layer's net
    out = model[-1](net)  # and its out
    loss = loss_of(net, out, targets)
    optimizer.zero_grad()
    loss.backward()
    weight_grads = [linear.weight.grad.tolist() for linear in linears]
    bias_grads = [linear.bias.grad.tolist() for linear in linears]
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    result = {
        "batch": BATCH,  # the rows of the training set in the batch
        "loss": loss.item(),  # E_total of the batch
        "weight_grads": weight_grads,  # ∂E/∂w, the batch's mean
        "bias_grads": bias_grads,  # ∂E/∂b
        "weights": [linear.weight.tolist() for linear in linears],  # after the update
        "biases": [linear.bias.tolist() for linear in linears],
        "learning_rate": CURRENT_LEARNING_RATE,  # the η of this update
        "next_learning_rate": optimizer.param_groups[0]["lr"],  # the schedule's next η
    }
    if args.json:
        print(json.dumps(result))
        return
    names = flat(WEIGHT_NAMES) + flat(BIAS_NAMES)
    print(f"backprop-lab network $code, iteration $iteration, on {len(BATCH)} of the", end=" ")
    print(f"{len(INPUTS)} training samples")
    print(f"E_total = {result['loss']!r}")
    print("Gradients, the batch's mean:")
    for name, g in zip(names, flat(weight_grads) + flat(bias_grads)):
        print(f"  dE/d{name} = {g!r}")
    kept = "" if UPDATE_BIASES else ", the biases kept"
    print(f"After optimizer.step() (lr {CURRENT_LEARNING_RATE!r}{kept}):")
    updated = flat(result["weights"]) + flat(result["biases"])
    for name, w, w_new in zip(names, flat(WEIGHTS) + flat(BIASES), updated):
        print(f"  {name} = {w!r} -> {w_new!r}")
    print(f"Next lr: {result['next_learning_rate']!r}")


if __name__ == "__main__":
    main()
'''
