"""The backpropagation engine: a fully connected network, one training iteration of it.

Notation (the tutorial's, used everywhere in backprop-lab):

    layers[l]          neurons in layer l; layer 0 is the input layer, layer L the output
    weights[l][j][i]   weight from neuron i of layer l to neuron j of layer l+1
    biases[l][j]       bias into neuron j of layer l+1
    net                a neuron's total input, Σ_i w_ji · out_i + b_j
    out                a neuron's output f(net); the input layer's out is the inputs
    E                  the loss, E_total = Σ_o loss(target_o, out_o); of a batch, the mean
                       over its samples
    dE_dout            ∂E/∂out
    dout_dnet          ∂out/∂net = f'(net)
    delta              δ = ∂E/∂net = ∂E/∂out · ∂out/∂net
    weight_grads       ∂E/∂w_ji = δ_j · out_i
    bias_grads         ∂E/∂b_j = δ_j
    learning_rate      η, in the update w⁺ = w − η · ∂E/∂w

Lists "per non-input layer" (net, delta, …) are indexed like weights and biases: entry l
belongs to layer l+1, the layer that weights[l] feeds. Phase names count the non-input
layers from 1 (forward:1 is the first hidden layer).

The engine is numpy and float64, imports nothing from the web layer and never formats:
it returns plain data for others to draw.
"""

from app.engine.activation import ACTIVATIONS, Activation
from app.engine.backprop import Backward, Forward, Trace, backward, forward
from app.engine.errors import InvalidInput
from app.engine.iterate import TrainResult, iterate, trace, train
from app.engine.loss import LOSSES, Loss
from app.engine.network import LIMITS, Network, bias_name, parse_param_name, weight_name
from app.engine.phase import phases
from app.engine.state import FIELDS, PRESETS, Data, State, Training

__all__ = [
    "ACTIVATIONS",
    "FIELDS",
    "LIMITS",
    "LOSSES",
    "PRESETS",
    "Activation",
    "Backward",
    "Data",
    "Forward",
    "InvalidInput",
    "Loss",
    "Network",
    "State",
    "Trace",
    "TrainResult",
    "Training",
    "backward",
    "bias_name",
    "forward",
    "iterate",
    "parse_param_name",
    "phases",
    "trace",
    "train",
    "weight_name",
]
