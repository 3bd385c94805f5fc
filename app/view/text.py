"""The words of the page, in English and 简体中文 (the tutorial's language).

`TEXT[lang][key]`; both languages have every key (a test checks). Phase names and
explanations take the layer number and kind with str.format.
"""

LANGS = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "backprop-lab",
        "tagline": "Backpropagation, one exact step at a time",
        "controls": "Step controls",
        "prev": "Previous",
        "next": "Next",
        "iteration": "Whole iteration",
        "train": "Train",
        "iterations": "Iterations to train",
        "reset": "Reset",
        "new": "New network",
        "layers": "Layers",
        "activation": "Activation",
        "options": "Display options",
        "precision": "Digits",
        "colour_by": "Colour edges by",
        "colour_grad": "∂E/∂w",
        "colour_weight": "weight",
        "theme_contrast": "High contrast",
        "present": "Presentation",
        "present_exit": "Leave presentation",
        "language": "中文",
        "language_name": "Switch to Chinese",
        "status": "Status",
        "iteration_n": "Iteration {n}",
        "phase": "Phase",
        "e_total": "E_total",
        "not_yet": "not computed yet",
        "e_after": "after the update",
        "graph": "The network",
        "graph_desc": "Neurons in columns from the inputs to the outputs; "
        "edges coloured by {colour}.",
        "legend_grad": "∂E/∂w",
        "legend_weight": "weight w",
        "legend_negative": "negative",
        "legend_positive": "positive",
        "legend_pending": "not computed yet",
        "explain": "Explanation",
        "deltas": "Every δ = ∂E/∂net",
        "deltas_pending": "Numbers appear when the backward pass reaches this layer.",
        "weights_table": "Every weight: ∂E/∂w = δ · out, and the update w⁺ = w − η · ∂E/∂w",
        "col_param": "parameter",
        "col_path": "from → to",
        "col_w": "w",
        "col_delta": "δ (to)",
        "col_out": "out (from)",
        "col_grad": "∂E/∂w",
        "col_eta": "η",
        "col_new": "w⁺",
        "fixed": "fixed",
        "more": "… and {n} more in the table of weights.",
        "table_show": "Show the table of all {n} parameters (each step is then slower)",
        "table_hide": "Hide the table (quicker steps)",
        "chain": "The chain rule for one parameter",
        "chain_choose": "Parameter",
        "chain_hint": "Click an edge, or choose a parameter.",
        "chain_pending": "The factors are computed in the backward pass, layer {layer}.",
        "params": "Edit the network",
        "inputs": "Inputs",
        "targets": "Targets",
        "target": "target",
        "learning_rate": "Learning rate η",
        "update_biases": "Update the biases",
        "update_biases_on": "on",
        "update_biases_off": "off (as in the tutorial)",
        "activations": "Activations",
        "layer_n": "Layer {n}",
        "weights": "Weights",
        "biases": "Biases",
        "shortcuts": "Keys: → or Space next · ← previous · Enter whole iteration · R reset · "
        "P presentation",
        "invalid": "{field}: {message}",
        "not_a_number": "not a number",
        "trained": "Trained {done} iterations: E_total {before} → {after}.",
        "diverged": "Stopped before iteration {at}: its numbers would not be finite.",
        "gone_title": "No such network",
        "gone": "This network no longer exists (the server may have restarted).",
        "start_new": "Start a new one",
        "hidden": "hidden",
        "output": "output",
        "ph_ready": "Ready",
        "ph_forward": "Forward pass · layer {k} ({kind})",
        "ph_loss": "Loss",
        "ph_backward": "Backward pass · layer {k} ({kind})",
        "ph_update": "Update",
        "pill_forward": "Forward {k}",
        "pill_backward": "Backward {k}",
        "ex_ready": "One training iteration, step by step: the forward pass layer by layer, "
        "the loss, the backward pass from the output back to the first hidden layer, then "
        "the update. Press → to start.",
        "ex_forward": "Each neuron of layer {k} adds up its inputs, each times its weight, "
        "and its bias: that is net. Its output is out = f(net).",
        "ex_loss": "The error of each output is ½(target − out)²; E_total is their sum.",
        "ex_backward_output": "δ = ∂E/∂net of each output neuron: how E_total changes with "
        "its net. Then each weight into it: ∂E/∂w = δ · out of the neuron it comes from.",
        "ex_backward_hidden": "A hidden neuron's out reaches E_total along every edge out of "
        "it, so ∂E/∂out sums δ · w over those paths; then δ = ∂E/∂out · ∂out/∂net, and "
        "∂E/∂w = δ · out.",
        "ex_update": "Every weight takes one step against its gradient: w⁺ = w − η · ∂E/∂w, "
        "all with the gradients computed from the weights before the update.",
        "ex_update_biases": "The biases too: b⁺ = b − η · δ.",
    },
    "zh": {
        "title": "backprop-lab",
        "tagline": "反向传播，一步一步精确演示",
        "controls": "步进控制",
        "prev": "上一步",
        "next": "下一步",
        "iteration": "完整迭代",
        "train": "训练",
        "iterations": "训练的迭代次数",
        "reset": "重置",
        "new": "新网络",
        "layers": "层",
        "activation": "激活函数",
        "options": "显示选项",
        "precision": "有效数字",
        "colour_by": "边的颜色表示",
        "colour_grad": "∂E/∂w",
        "colour_weight": "权重",
        "theme_contrast": "高对比度",
        "present": "演示模式",
        "present_exit": "退出演示",
        "language": "English",
        "language_name": "切换到英文",
        "status": "状态",
        "iteration_n": "第 {n} 次迭代",
        "phase": "阶段",
        "e_total": "E_total",
        "not_yet": "尚未计算",
        "e_after": "更新之后",
        "graph": "网络",
        "graph_desc": "神经元从输入到输出按列排列；边的颜色表示{colour}。",
        "legend_grad": "∂E/∂w",
        "legend_weight": "权重 w",
        "legend_negative": "负",
        "legend_positive": "正",
        "legend_pending": "尚未计算",
        "explain": "讲解",
        "deltas": "每个 δ = ∂E/∂net",
        "deltas_pending": "反向传播到达这一层时显示数值。",
        "weights_table": "每个权重：∂E/∂w = δ · out，更新 w⁺ = w − η · ∂E/∂w",
        "col_param": "参数",
        "col_path": "从 → 到",
        "col_w": "w",
        "col_delta": "δ（到）",
        "col_out": "out（从）",
        "col_grad": "∂E/∂w",
        "col_eta": "η",
        "col_new": "w⁺",
        "fixed": "不更新",
        "more": "……其余 {n} 个见权重表。",
        "table_show": "显示全部 {n} 个参数的表（每一步会变慢）",
        "table_hide": "隐藏此表（步进更快）",
        "chain": "某个参数的链式法则",
        "chain_choose": "参数",
        "chain_hint": "点击一条边，或选择一个参数。",
        "chain_pending": "这些因子在反向传播第 {layer} 层时计算。",
        "params": "编辑网络",
        "inputs": "输入",
        "targets": "目标输出",
        "target": "目标",
        "learning_rate": "学习率 η",
        "update_biases": "更新偏置",
        "update_biases_on": "开",
        "update_biases_off": "关（与教程相同）",
        "activations": "激活函数",
        "layer_n": "第 {n} 层",
        "weights": "权重",
        "biases": "偏置",
        "shortcuts": "按键：→ 或空格 下一步 · ← 上一步 · Enter 完整迭代 · R 重置 · P 演示模式",
        "invalid": "{field}：{message}",
        "not_a_number": "不是数字",
        "trained": "已训练 {done} 次迭代：E_total {before} → {after}。",
        "diverged": "在第 {at} 次迭代前停止：其数值将不再有限。",
        "gone_title": "没有这个网络",
        "gone": "这个网络已不存在（服务器可能已重启）。",
        "start_new": "新建一个",
        "hidden": "隐含层",
        "output": "输出层",
        "ph_ready": "就绪",
        "ph_forward": "前向传播 · 第 {k} 层（{kind}）",
        "ph_loss": "计算总误差",
        "ph_backward": "反向传播 · 第 {k} 层（{kind}）",
        "ph_update": "更新权重",
        "pill_forward": "前向 {k}",
        "pill_backward": "反向 {k}",
        "ex_ready": "一次训练迭代，分步进行：逐层前向传播，计算总误差，从输出层反向传播到第一个"
        "隐含层，最后更新权重。按 → 开始。",
        "ex_forward": "第 {k} 层的每个神经元把输入乘以各自的权重再加上偏置，得到 net；"
        "输出 out = f(net)。",
        "ex_loss": "每个输出的误差是 ½(target − out)²；E_total 是它们的和。",
        "ex_backward_output": "每个输出神经元的 δ = ∂E/∂net：E_total 随它的 net 如何变化。"
        "然后每个进入它的权重：∂E/∂w = δ · 来源神经元的 out。",
        "ex_backward_hidden": "隐含神经元的 out 沿它发出的每条边影响 E_total：∂E/∂out 把这些"
        "路径上的 δ · w 相加。然后 δ = ∂E/∂out · ∂out/∂net，每个进入它的权重 ∂E/∂w = δ · out。",
        "ex_update": "每个权重沿梯度的反方向走一步：w⁺ = w − η · ∂E/∂w，"
        "所用梯度都来自更新之前的权重。",
        "ex_update_biases": "偏置也更新：b⁺ = b − η · δ。",
    },
}


def pick(accept_language: str | None) -> str:
    """The language of the interface from an Accept-Language header (zh first if preferred)."""
    ranked: list[tuple[float, int, str]] = []
    for k, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, k, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGS:
            return primary
    return "en"
