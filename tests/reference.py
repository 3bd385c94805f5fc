"""The classic example's figures, as printed to 12 digits in shared/REFERENCE.md.

They are the oracle the engine is checked against (along with finite differences and
PyTorch); indices follow the engine's: [layer][j] per non-input layer, weights[l][j][i].
"""

NET = [[0.3775, 0.3925], [1.105905967060, 1.224921404096]]
OUT = [[0.05, 0.10], [0.593269992107, 0.596884378260], [0.751365069552, 0.772928465321]]
LOSSES = [0.274811083176, 0.023560025584]
E_TOTAL = 0.298371108760

DE_DOUT = [[0.036350306393, 0.041370322649], [0.741365069552, -0.217071534679]]
# ∂E/∂out_h1 through o1 and through o2: δ_o1·w5 and δ_o2·w7.
DE_DOUT_H1_TERMS = [0.055399424651, -0.019049118258]
DOUT_DNET = [[0.241300708572, 0.240613417249], [0.186815601809, 0.175510052817]]
DELTAS = [[0.008771354689, 0.009954254705], [0.138498561629, -0.038098236517]]

GRADS = {
    "w1": 0.000438567734,
    "w2": 0.000877135469,
    "w3": 0.000497712735,
    "w4": 0.000995425471,
    "w5": 0.082167040564,
    "w6": 0.082667627848,
    "w7": -0.022602540477,
    "w8": -0.022740242216,
}
UPDATED = {
    "w1": 0.149780716133,
    "w2": 0.199561432266,
    "w3": 0.249751143632,
    "w4": 0.299502287265,
    "w5": 0.358916479718,
    "w6": 0.408666186076,
    "w7": 0.511301270239,
    "w8": 0.561370121108,
}
# (l, j, i) of each name under the numbering rule.
INDEX = {f"w{k + 1}": (k // 4, (k % 4) // 2, k % 2) for k in range(8)}

E_AFTER_1 = 0.291027773694
E_AFTER_1_WITH_BIASES = 0.280471446791
E_AFTER_10000 = 3.5101878e-05
OUT_AFTER_10000 = [0.01591362, 0.98406427]
# The tutorial's own figures, which use the already-updated w5..w8 for the hidden deltas.
E_AFTER_1_TUTORIAL_SLIP = 0.291027924
E_AFTER_10000_TUTORIAL_SLIP = 0.000035085
OUT_AFTER_10000_TUTORIAL_SLIP = [0.015912196, 0.984065734]

TOL = 1e-9
