"""Every formula the page shows, in symbols and then with the iteration's numbers.

Written as the tutorial writes them: δ_o1 = −(target_o1 − out_o1) · out_o1(1 − out_o1),
then the same with the numbers substituted, then the result. A formula whose numbers
the current phase has not computed yet is shown in symbols only.

LaTeX here, MathML on the page (see mathml.py); @k is the slot of the k-th number.
Indices are the engine's: l counts the non-input layers from 0 (layer l+1 of the
network), j the receiving neuron, i the sending one.
"""

from dataclasses import dataclass

from markupsafe import Markup

from app.engine import State, Trace, bias_name, weight_name
from app.view import ids
from app.view.mathml import Bare, named, render, shift
from app.view.numbers import fmt
from app.view.stage import sample_of

MAX_TERMS = 3  # sums with more terms than this are written with Σ (a longer line would not fit)
E_TOTAL = r"E_{\mathrm{total}}"

# Keyed by the engine's names (app/engine/activation.py, loss.py; a test checks that the
# names agree). X is the neuron, #n the number of output neurons.
# ∂E/∂out of an output neuron, per loss: symbols, then numbers (slots @0 target, @1 out).
DLOSS = {
    "half_sse": (r"-(\mathrm{target}_{X} - \mathrm{out}_{X})", r"-(@0 - @1)"),
    "mse": (r"-\frac{2}{#n}(\mathrm{target}_{X} - \mathrm{out}_{X})", r"-\frac{2}{#n}(@0 - @1)"),
    "bce": (
        r"\frac{1}{#n} \cdot \frac{\mathrm{out}_{X} - \mathrm{target}_{X}}"
        r"{\mathrm{out}_{X}(1 - \mathrm{out}_{X})}",
        r"\frac{1}{#n} \cdot \frac{@1 - @0}{@1(1 - @1)}",
    ),
    "cross_entropy": (r"-\frac{\mathrm{target}_{X}}{\mathrm{out}_{X}}", r"-\frac{@0}{@1}"),
}
LOSS = {
    "half_sse": (
        r"\frac{1}{2}(\mathrm{target}_{X} - \mathrm{out}_{X})^{2}",
        r"\frac{1}{2}(@0 - @1)^{2}",
    ),
    "mse": (
        r"\frac{1}{#n}(\mathrm{target}_{X} - \mathrm{out}_{X})^{2}",
        r"\frac{1}{#n}(@0 - @1)^{2}",
    ),
    "bce": (
        r"-\frac{1}{#n}(\mathrm{target}_{X} \log \mathrm{out}_{X} + (1 - \mathrm{target}_{X})"
        r" \log(1 - \mathrm{out}_{X}))",
        r"-\frac{1}{#n}(@0 \log @1 + (1 - @0) \log(1 - @1))",
    ),
    "cross_entropy": (
        r"-\mathrm{target}_{X} \log \mathrm{out}_{X}",
        r"-@0 \log @1",
    ),
}
# δ of an output neuron where the loss and its activation cancel (the engine's `fused`).
FUSED_DELTA = {
    ("bce", "sigmoid"): (
        r"\frac{1}{#n}(\mathrm{out}_{X} - \mathrm{target}_{X})",
        r"\frac{1}{#n}(@1 - @0)",
    ),
    ("cross_entropy", "softmax"): (r"\mathrm{out}_{X} - \mathrm{target}_{X}", r"@1 - @0"),
}
# Why they cancel: the chain rule written out, ending on the short form.
FUSED_WHY = {
    ("bce", "sigmoid"): (
        r"∵ \frac{\partial E}{\partial \mathrm{out}_{X}} \cdot "
        r"\mathrm{out}_{X}(1 - \mathrm{out}_{X}) = \frac{1}{#n}"
        r"\frac{\mathrm{out}_{X} - \mathrm{target}_{X}}{\mathrm{out}_{X}(1 - \mathrm{out}_{X})}"
        r" \cdot \mathrm{out}_{X}(1 - \mathrm{out}_{X})"
    ),
    ("cross_entropy", "softmax"): (
        r"∵ \sum_{k} -\frac{\mathrm{target}_{k}}{\mathrm{out}_{k}} \cdot "
        r"\mathrm{out}_{k}([k = X] - \mathrm{out}_{X}) = \mathrm{out}_{X} \sum_{k}"
        r" \mathrm{target}_{k} - \mathrm{target}_{X}, \; \sum_{k} \mathrm{target}_{k} = 1"
    ),
}
# ∂out/∂net per activation: symbols, numbers (slot @0 out, @1 net). Softmax's is the
# diagonal of its Jacobian; its δ sums over the whole Jacobian (SOFTMAX_DELTA).
DACTIVATION = {
    "sigmoid": (r"\mathrm{out}_{X}(1 - \mathrm{out}_{X})", r"@0(1 - @0)"),
    "tanh": (r"1 - \mathrm{out}_{X}^{2}", r"1 - @0^{2}"),
    "relu": (r"[\mathrm{net}_{X} > 0]", r"[@1 > 0]"),
    "leaky_relu": (r"(\mathrm{net}_{X} > 0 \; ? \; 1 : 0.01)", r"(@1 > 0 \; ? \; 1 : 0.01)"),
    "linear": ("1", "1"),
    "softmax": (r"\mathrm{out}_{X}(1 - \mathrm{out}_{X})", r"@0(1 - @0)"),
}
# out = f(net): symbols, numbers (slot @0 net).
ACTIVATION = {
    "sigmoid": (r"\frac{1}{1 + e^{-\mathrm{net}_{X}}}", r"\frac{1}{1 + e^{-@0}}"),
    "tanh": (r"\tanh(\mathrm{net}_{X})", r"\tanh(@0)"),
    "relu": (r"\max(0, \mathrm{net}_{X})", r"\max(0, @0)"),
    "leaky_relu": (r"\max(0.01 \, \mathrm{net}_{X}, \mathrm{net}_{X})", r"\max(0.01 \cdot @0, @0)"),
    "linear": (r"\mathrm{net}_{X}", "@0"),
    "softmax": (
        r"\frac{e^{\mathrm{net}_{X}}}{\sum_{k} e^{\mathrm{net}_{k}}}",
        r"\frac{e^{@0}}{\sum_{k} e^{\mathrm{net}_{k}}}",
    ),
}
SOFTMAX_DELTA = (
    r"\mathrm{out}_{X} \left({dE} - \sum_{k} \frac{\partial E}{\partial \mathrm{out}_{k}}"
    r" \cdot \mathrm{out}_{k}\right)"
)


@dataclass(frozen=True)
class Line:
    math: Markup
    continued: bool = False  # continues the previous line's expression (indented)


@dataclass(frozen=True)
class Formula:
    id: str
    lines: tuple[Line, ...]
    result: str | None = None  # the final number as shown, once computed
    value: float | None = None  # the same, exact (for the element's data-value)


def _d(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def _slash(top: str, bottom: str) -> str:
    """∂top/∂bottom on one line, for the lists of gradients."""
    return rf"\partial {top} / \partial {bottom}"


class Iteration:
    """One iteration's numbers with the names to write them."""

    def __init__(self, state: State, trace: Trace, precision: int):
        self.network, self.training = state.network, state.training
        self.targets = sample_of(state, trace)[1]  # of the sample on show
        self.trace, self.precision = trace, precision
        self.layers = self.network.layers

    def math(self, latex: str, *values: float | Bare) -> Markup:
        return render(latex, values, self.precision)

    def name(self, layer: int, j: int) -> str:
        """Neuron j of layer `layer` (0 = inputs)."""
        return ids.neuron_name(self.layers, layer, j)

    def x(self, layer: int, j: int) -> str:
        return named(ids.tex_name(self.name(layer, j)))

    def out_sym(self, layer: int, j: int) -> str:
        """out of a neuron in symbols; an input's out is the input itself (i1)."""
        if layer == 0:
            return named(rf"i_{{{j + 1}}}")
        return rf"\mathrm{{out}}_{{{self.x(layer, j)}}}"

    def pattern(self, layer: int) -> str:
        """Neuron k of a layer, in symbols, for sums written with Σ."""
        if layer == 0:
            return "i_{k}"
        if layer == len(self.layers) - 1:
            return "o_{k}"
        return "h_{k}" if len(self.layers) == 3 else f"h_{{{layer},k}}"

    @staticmethod
    def param(name: str) -> str:
        """w_{5}, b_{1,1}: the index in a slot, so that w_{5}^{+} keeps its shape."""
        return rf"{name[0]}_{{{named(name[1:].replace('_', ','))}}}"

    def w(self, l: int, j: int, i: int) -> str:
        return self.param(weight_name(self.layers, l, j, i))

    def b(self, l: int, j: int) -> str:
        return self.param(bias_name(l, j))

    @staticmethod
    def breakable(*parts: Markup) -> Markup:
        """One line in parts that a narrow box may break between (each part a <math>)."""
        return Markup(" ").join(parts)

    def product(self, a: float, b: float, value: float) -> Markup:
        """= a · b = value, breakable before the value."""
        return self.breakable(self.math(r"= @0 \cdot @1", a, b), self.math("= @0", Bare(value)))

    def done(self, fid: str, lines: list[Line], value: float | None) -> Formula:
        result = None if value is None else fmt(value, self.precision)
        return Formula(fid, tuple(lines), result, value)

    # Forward pass

    def net(self, l: int, j: int) -> Formula:
        X, m = self.x(l + 1, j), self.layers[l]
        f = self.trace.forward
        value = float(f.net[l][j])
        if m <= MAX_TERMS:
            terms = " + ".join(rf"{self.w(l, j, i)} \cdot {self.out_sym(l, i)}" for i in range(m))
            nums = " + ".join(rf"@{2 * i} \cdot @{2 * i + 1}" for i in range(m))
            values = [v for i in range(m) for v in (self.network.weights[l][j, i], f.out[l][i])]
            lines = [
                Line(self.math(rf"\mathrm{{net}}_{{{X}}} = {terms} + {self.b(l, j)}")),
                Line(
                    self.math(
                        rf"= {nums} + @{2 * m} = @{2 * m + 1}",
                        *values,
                        self.network.biases[l][j],
                        Bare(value),
                    )
                ),
            ]
        else:
            Y = self.pattern(l)
            sym = rf"\mathrm{{net}}_{{{X}}} = \sum_{{k=1}}^{{{m}}} w_{{{X}{Y}}} \cdot "
            sym += rf"\mathrm{{out}}_{{{Y}}} + {self.b(l, j)} = @0"
            lines = [Line(self.math(sym, Bare(value)))]
        return self.done(ids.explain_item("net", self.name(l + 1, j)), lines, value)

    def out(self, l: int, j: int) -> Formula:
        X = self.x(l + 1, j)
        sym, nums = ACTIVATION[self.network.activations[l]]
        value = float(self.trace.forward.out[l + 1][j])
        latex = rf"\mathrm{{out}}_{{{X}}} = {sym.replace('X', X)} = {nums} = @1"
        line = self.math(latex, self.trace.forward.net[l][j], Bare(value))
        return self.done(ids.explain_item("out", self.name(l + 1, j)), [Line(line)], value)

    # The loss

    def loss(self, j: int) -> Formula:
        L = len(self.layers) - 1
        X = self.x(L, j)
        sym, nums = (self.n(t) for t in LOSS[self.network.loss])
        value = float(self.trace.forward.losses[j])
        lines = [
            Line(self.math(rf"E_{{{X}}} = {sym.replace('X', X)}")),
            Line(
                self.math(
                    rf"= {nums} = @2",
                    self.targets[j],
                    self.trace.forward.out[L][j],
                    Bare(value),
                )
            ),
        ]
        return self.done(ids.explain_item("loss", self.name(L, j)), lines, value)

    def e_total(self) -> Formula:
        L, n = len(self.layers) - 1, self.layers[-1]
        value = self.trace.forward.loss
        if n <= MAX_TERMS:
            sym = " + ".join(f"E_{{{self.x(L, j)}}}" for j in range(n))
            nums = " + ".join(f"@{j}" for j in range(n))
            losses = list(self.trace.forward.losses)
            line = self.math(rf"{E_TOTAL} = {sym} = {nums} = @{n}", *losses, Bare(value))
        else:
            line = self.math(rf"{E_TOTAL} = \sum_{{k=1}}^{{{n}}} E_{{o_{{k}}}} = @0", Bare(value))
        return self.done(ids.explain_item("loss", "total"), [Line(line)], value)

    # The backward pass

    def dout_dnet(self, l: int, j: int) -> tuple[str, str, tuple[float, float]]:
        """∂out/∂net of neuron j of layer l+1: symbols, number template, its slot values."""
        X = self.x(l + 1, j)
        sym, nums = DACTIVATION[self.network.activations[l]]
        f = self.trace.forward
        return sym.replace("X", X), nums, (f.out[l + 1][j], f.net[l][j])

    def delta(self, l: int, j: int, revealed: bool, fid: str) -> Formula:
        if l == len(self.layers) - 2:
            return self._output_delta(l, j, revealed, fid)
        return self._hidden_delta(l, j, revealed, fid)

    def n(self, latex: str) -> str:
        """A formula with its #n, the number of output neurons, written out."""
        return latex.replace("#n", str(self.layers[-1]))

    def _output_delta(self, l: int, j: int, revealed: bool, fid: str) -> Formula:
        X = self.x(l + 1, j)
        b = self.trace.backward
        activation = self.network.activations[l]
        fused = FUSED_DELTA.get((self.network.loss, activation))
        if b.fused and fused:  # the loss and its activation cancel: δ = out − target
            sym, num = (self.n(t) for t in fused)
            lines = [Line(self.math(rf"\delta_{{{X}}} = {sym.replace('X', X)}"))]
            # Why: the chain rule through ∂out/∂net, whose factors cancel.
            why = self.n(FUSED_WHY[(self.network.loss, activation)]).replace("X", X)
            lines.append(Line(self.math(why), continued=True))
            if not revealed:
                return self.done(fid, lines, None)
            value = float(b.deltas[l][j])
            out = self.trace.forward.out[l + 1][j]
            lines.append(Line(self.math(rf"= {num} = @2", self.targets[j], out, Bare(value))))
            return self.done(fid, lines, value)
        if activation == "softmax":  # through the whole Jacobian of the layer
            dE = _d(E_TOTAL, rf"\mathrm{{out}}_{{{X}}}")
            sym = SOFTMAX_DELTA.replace("{dE}", dE).replace("X", X)
            lines = [Line(self.math(rf"\delta_{{{X}}} = {sym}"))]
            if not revealed:
                return self.done(fid, lines, None)
            value = float(b.deltas[l][j])
            lines.append(Line(self.math("= @0", Bare(value))))
            return self.done(fid, lines, value)
        dloss_sym, dloss_num = (self.n(t) for t in DLOSS[self.network.loss])
        dact_sym, dact_num, dact_values = self.dout_dnet(l, j)
        lines = [Line(self.math(rf"\delta_{{{X}}} = {dloss_sym.replace('X', X)} \cdot {dact_sym}"))]
        if not revealed:
            return self.done(fid, lines, None)
        value = float(b.deltas[l][j])
        lines.append(
            Line(
                self.math(
                    rf"= {dloss_num} \cdot {shift(dact_num, 2)}",
                    self.targets[j],
                    self.trace.forward.out[l + 1][j],
                    *dact_values,
                )
            )
        )
        lines.append(Line(self.product(b.dE_dout[l][j], b.dout_dnet[l][j], value)))
        return self.done(fid, lines, value)

    def _paths(self, l: int, j: int) -> tuple[str, str, list[float], list[float]]:
        """∂E/∂out of hidden neuron j of layer l+1, summed over the paths through the next
        layer: symbols, the number template of δ · w, its values, and each path's δ · w."""
        nxt, n = l + 1, self.layers[l + 2]
        b = self.trace.backward
        terms = [float(b.dE_dout_terms[nxt][k, j]) for k in range(n)]
        if n <= MAX_TERMS:
            sym = " + ".join(
                rf"\delta_{{{self.x(l + 2, k)}}} \cdot {self.w(nxt, k, j)}" for k in range(n)
            )
            nums = " + ".join(rf"@{2 * k} \cdot @{2 * k + 1}" for k in range(n))
            values = [v for k in range(n) for v in (b.deltas[nxt][k], b.weights[nxt][k, j])]
            return sym, nums, values, terms
        Y, X = self.pattern(l + 2), self.x(l + 1, j)
        sym = rf"\sum_{{k=1}}^{{{n}}} \delta_{{{Y}}} \cdot w_{{{Y}{X}}}"
        return sym, "@0", [float(b.dE_dout[l][j])], []

    def _hidden_delta(self, l: int, j: int, revealed: bool, fid: str) -> Formula:
        X = self.x(l + 1, j)
        b = self.trace.backward
        paths_sym, paths_num, path_values, terms = self._paths(l, j)
        dact_sym, dact_num, dact_values = self.dout_dnet(l, j)
        lines = [Line(self.math(rf"\delta_{{{X}}} = ({paths_sym}) \cdot {dact_sym}"))]
        if not revealed:
            return self.done(fid, lines, None)
        value = float(b.deltas[l][j])
        if terms:  # each path's δ · w, then their sum
            lines.append(Line(self.math(rf"= ({paths_num})", *path_values)))
            lines.append(Line(self.math(rf"\cdot {dact_num}", *dact_values), continued=True))
            sums = " + ".join(f"@{k}" for k in range(len(terms)))
            line = self.breakable(
                self.math(rf"= ({sums})", *terms), self.math(r"\cdot @0", b.dout_dnet[l][j])
            )
            lines.append(Line(line))
        else:  # too many paths to write out: their sum, ∂E/∂out
            sum_, dact = Bare(path_values[0]), shift(dact_num, 1)
            lines.append(Line(self.math(rf"= @0 \cdot {dact}", sum_, *dact_values)))
        lines.append(Line(self.product(b.dE_dout[l][j], b.dout_dnet[l][j], value)))
        return self.done(fid, lines, value)

    def grad(self, l: int, j: int, i: int) -> Formula:
        name = weight_name(self.layers, l, j, i)
        b = self.trace.backward
        value = float(b.weight_grads[l][j, i])
        sym = rf"{_slash(E_TOTAL, self.w(l, j, i))} = \delta_{{{self.x(l + 1, j)}}} \cdot "
        sym += self.out_sym(l, i)
        num = self.math(
            r"= @0 \cdot @1 = @2", b.deltas[l][j], self.trace.forward.out[l][i], Bare(value)
        )
        line = self.breakable(self.math(sym), num)
        return self.done(ids.explain_item("grad", name), [Line(line)], value)

    def bias_grad(self, l: int, j: int) -> Formula:
        value = float(self.trace.backward.bias_grads[l][j])
        latex = rf"{_slash(E_TOTAL, self.b(l, j))} = \delta_{{{self.x(l + 1, j)}}} = @0"
        line = self.math(latex, Bare(value))
        return self.done(ids.explain_item("grad", bias_name(l, j)), [Line(line)], value)

    # The update

    def update(self, l: int, j: int, i: int) -> Formula:
        name = weight_name(self.layers, l, j, i)
        value = float(self.trace.weights[l][j, i])
        lines = self._update(self.w(l, j, i), self.network.weights[l][j, i], l, (j, i), value)
        return self.done(ids.explain_item("update", name), lines, value)

    def bias_update(self, l: int, j: int) -> Formula:
        value = float(self.trace.biases[l][j])
        index = len(self.network.weights) + l  # the optimiser's parameters: weights, biases
        lines = self._update(self.b(l, j), self.network.biases[l][j], index, (j,), value)
        return self.done(ids.explain_item("update", bias_name(l, j)), lines, value)

    def _plain(self) -> bool:
        o = self.training.optimizer
        return o["name"] == "sgd" and o["momentum"] == 0 and o["weight_decay"] == 0

    def _update(self, p: str, old: float, k: int, at: tuple, value: float) -> list[Line]:
        """p⁺ as the optimiser made it, with its numbers: the tutorial's p − η · ∂E/∂p for
        plain gradient descent, else p − Δp with Δp by the optimiser's rule and terms."""
        t = self.trace
        if self._plain():
            n = len(self.network.weights)
            grad = t.weight_grads[k][at] if k < n else t.bias_grads[k - n][at]
            num = self.math(
                r"= @0 - @1 \cdot @2 = @3", Bare(old), t.learning_rate, grad, Bare(value)
            )
            return [Line(self.breakable(self.math(rf"{p}^{{+}}"), num))]

        def term(name: str) -> float:
            return float(t.terms[name][k][at])

        step = term("update")
        lines = [
            Line(
                self.breakable(
                    self.math(rf"{p}^{{+}} = {p} - \Delta {p}"),
                    self.math("= @0 - @1 = @2", Bare(old), step, Bare(value)),
                )
            )
        ]
        rule, values = self._rule(term)
        lines.append(Line(self.math(rf"\Delta {p} = {rule} = @{len(values)}", *values, Bare(step))))
        return lines

    def _rule(self, term) -> tuple[str, list[float]]:
        """Δp of the optimiser in use, symbols with number slots, and their values."""
        o, t = self.training.optimizer, self.trace
        eta = t.learning_rate
        name = o["name"]
        if name in ("adam", "adamw"):
            rule = (
                r"\eta \cdot \hat{m} / (\sqrt{\hat{v}} + \epsilon), \; \eta = @0, \;"
                r" \hat{m} = @1, \; \hat{v} = @2, \; \epsilon = @3"
            )
            values = [eta, term("m_hat"), term("v_hat"), o["eps"]]
            if "decay" in t.terms:  # AdamW's decoupled part, η · λ · p
                rule += r", \; + \eta \lambda p = @4"
                values.append(term("decay"))
            return rule, values
        if name == "sgd":
            if o["momentum"] == 0:  # weight decay only: g = ∂E/∂p + λ · p
                return r"\eta \cdot g, \; \eta = @0, \; g = @1", [eta, term("grad")]
            if o["nesterov"]:
                rule = r"\eta \cdot (g + \mu b), \; \eta = @0, \; g = @1, \; \mu = @2, \; b = @3"
                return rule, [eta, term("grad"), o["momentum"], term("momentum_buffer")]
            return r"\eta \cdot b, \; \eta = @0, \; b = @1", [eta, term("momentum_buffer")]
        if name == "rmsprop":
            if o["momentum"] > 0:
                return r"\eta \cdot b, \; \eta = @0, \; b = @1", [eta, term("momentum_buffer")]
            rule = (
                r"\eta \cdot g / (\sqrt{v} + \epsilon), \; \eta = @0, \; g = @1, \;"
                r" \sqrt{v} + \epsilon = @2"
            )
            return rule, [eta, term("grad"), term("avg")]
        # adagrad
        rule = (
            r"\mathrm{clr} \cdot g / (\sqrt{s} + \epsilon), \; \mathrm{clr} = @0, \; g = @1, \;"
            r" \sqrt{s} + \epsilon = @2"
        )
        return rule, [float(t.terms["clr"]), term("grad"), term("std")]

    def update_rule(self) -> Formula:
        eta = self.trace.learning_rate
        if self._plain():
            latex = rf"w^{{+}} = w - \eta \cdot {_slash(E_TOTAL, 'w')}, \quad \eta = @0"
        else:
            name = self.training.optimizer["name"]
            latex = rf"w^{{+}} = w - \Delta w \; (\mathrm{{{name}}}), \quad \eta = @0"
        return self.done(
            ids.explain_item("update", "rule"), [Line(self.math(latex, Bare(eta)))], None
        )

    # The chain rule for one parameter

    def chain(self, kind: str, l: int, j: int, i: int, revealed: bool) -> Formula:
        """∂E/∂w = ∂E/∂out · ∂out/∂net · ∂net/∂w for weights[l][j][i] (or biases[l][j])."""
        X, L = self.x(l + 1, j), len(self.layers) - 1
        p = self.w(l, j, i) if kind == "weights" else self.b(l, j)
        out_x, net_x = rf"\mathrm{{out}}_{{{X}}}", rf"\mathrm{{net}}_{{{X}}}"
        dE, dact, dnet = _d(E_TOTAL, out_x), _d(out_x, net_x), _d(net_x, p)
        dnet_sym = self.out_sym(l, i) if kind == "weights" else "1"
        dact_sym, dact_num, dact_values = self.dout_dnet(l, j)
        if l + 1 == L and (self.trace.backward.fused or self.network.activations[l] == "softmax"):
            return self._chain_by_delta(kind, l, j, i, revealed)
        if l + 1 == L:
            dE_sym, dE_num = (self.n(t).replace("X", X) for t in DLOSS[self.network.loss])
            dE_values = [self.targets[j], self.trace.forward.out[L][j]]
        else:
            dE_sym, dE_num, dE_values, _ = self._paths(l, j)
        lines = [Line(self.math(rf"{_d(E_TOTAL, p)} = {dE} \cdot {dact} \cdot {dnet}"))]
        fid = ids.CHAIN + "-formula"
        if not revealed:
            lines += [
                Line(self.math(rf"{dE} = {dE_sym}")),
                Line(self.math(rf"{dact} = {dact_sym}")),
                Line(self.math(rf"{dnet} = {dnet_sym}")),
            ]
            return self.done(fid, lines, None)
        b, f = self.trace.backward, self.trace.forward
        dnet_value = float(f.out[l][i]) if kind == "weights" else 1.0
        value = float(b.weight_grads[l][j, i] if kind == "weights" else b.bias_grads[l][j])
        factors = (b.dE_dout[l][j], b.dout_dnet[l][j], dnet_value)
        k = len(dE_values)
        lines += [
            Line(self.math(r"= @0 \cdot @1 \cdot @2 = @3", *factors, Bare(value))),
            Line(self.math(rf"{dE} = {dE_sym} = {dE_num} = @{k}", *dE_values, Bare(factors[0]))),
            Line(
                self.math(rf"{dact} = {dact_sym} = {dact_num} = @2", *dact_values, Bare(factors[1]))
            ),
            Line(self.math(rf"{dnet} = {dnet_sym} = @0", Bare(dnet_value))),
        ]
        return self.done(fid, lines, value)

    def _chain_by_delta(self, kind: str, l: int, j: int, i: int, revealed: bool) -> Formula:
        """∂E/∂w = δ · ∂net/∂w, where δ does not factor into ∂E/∂out · ∂out/∂net (softmax,
        or a loss that cancels with its activation)."""
        X = self.x(l + 1, j)
        p = self.w(l, j, i) if kind == "weights" else self.b(l, j)
        net_x = rf"\mathrm{{net}}_{{{X}}}"
        dnet, dnet_sym = _d(net_x, p), self.out_sym(l, i) if kind == "weights" else "1"
        lines = [Line(self.math(rf"{_d(E_TOTAL, p)} = \delta_{{{X}}} \cdot {dnet}"))]
        fid = ids.CHAIN + "-formula"
        if not revealed:
            lines.append(Line(self.math(rf"{dnet} = {dnet_sym}")))
            return self.done(fid, lines, None)
        b, f = self.trace.backward, self.trace.forward
        dnet_value = float(f.out[l][i]) if kind == "weights" else 1.0
        value = float(b.weight_grads[l][j, i] if kind == "weights" else b.bias_grads[l][j])
        lines += [
            Line(self.math(r"= @0 \cdot @1 = @2", b.deltas[l][j], dnet_value, Bare(value))),
            Line(self.math(rf"{dnet} = {dnet_sym} = @0", Bare(dnet_value))),
        ]
        return self.done(fid, lines, value)
