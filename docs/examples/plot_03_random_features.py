"""
Random features: pruning a ReLU model through its equivalent Gaussian problem
=============================================================================

A random-features model has a fixed random first layer :math:`W` (here with unit rows) and fits only the
output weights on the features :math:`x = \\mathrm{ReLU}(Wz)` of Gaussian inputs :math:`z`; the label is
the quadratic :math:`y = (u^\\top z)^2` of the paper's Sec. 3.2. Its *equivalent linear Gaussian problem*
has the same second moments (exact closed forms for ReLU), and the prediction is the characterization of
that Gaussian problem (theory page, :ref:`theory-correlated`). Replacing ReLU features by Gaussian ones is
an approximation (Gaussian equivalence), so we check it against a simulation with real ReLU features.

Widths grow by adding rows to one first layer, so every model contains the smaller ones.
"""

import matplotlib.pyplot as plt
import numpy as np

import dcpredict
from dcpredict import random_features as rf

d, n, alpha = 10, 60, 0.5
rng = np.random.default_rng(0)
W_all = rf.draw_first_layer(150, d, rng)
u = np.eye(d)[0]

widths = [p for p in range(6, 151, 6) if p != n]      # the risk is infinite at p = n
theory = {"dense": [], "magnitude": []}
for p in widths:
    lgp = rf.equivalent_lgp(W_all[:p], u)
    # 200 draws of the characterization for the pruned risk; the retrained risks are not used here,
    # so they get the minimum of 2 draws (each costs an eigendecomposition)
    pred = dcpredict.predict_correlated(lgp.Sigma, lgp.beta, sigma2=lgp.sigma2, n=n, alpha=alpha,
                                        draws=200, retrain_draws=2, seed=0)
    theory["dense"].append(pred.dense)
    theory["magnitude"].append(pred.magnitude)

# %%
# The simulation draws real inputs, real ReLU features and real quadratic labels, fits least squares and
# prunes by magnitude; risks are exact population risks from the closed-form moments.

sim_widths = [20, 40, 90, 150]
sims = [rf.simulate_rf(W_all[:p], u, n=n, alpha=alpha, trials=20, seed=1) for p in sim_widths]
for p, sim in zip(sim_widths, sims):
    print(f"p = {p:3d}: dense {sim.dense:.3f} +- {sim.stderr['dense']:.3f}, "
          f"magnitude {sim.magnitude:.3f} +- {sim.stderr['magnitude']:.3f}")

# %%
# The dense curve has its peak where the width equals the number of samples (:math:`p = n`), and the pruned
# model (keeping half of the weights) inherits it. The markers test the Gaussian-equivalence prediction at a
# small size, where finite-size and equivalence errors are both visible; the paper's Fig. 2 and
# ``dcpredict figure fig2`` make the same comparison at larger sizes.

fig, ax = plt.subplots(figsize=(6.4, 4.0))
for field, color in (("dense", "black"), ("magnitude", "tab:blue")):
    ax.plot(np.array(widths) / n, theory[field], color=color,
            label=("dense" if field == "dense" else f"magnitude pruning to alpha = {alpha}") + ", theory")
    ax.errorbar(np.array(sim_widths) / n, [getattr(s, field) for s in sims],
                yerr=[2 * s.stderr[field] for s in sims], fmt="o", color=color, ms=4, capsize=2,
                label="ReLU simulation, 20 trials (2 s.e.)" if field == "magnitude" else None)
ax.axvline(1.0, color="0.5", ls="--", lw=0.8)
ax.set_yscale("log")
ax.set_xlabel(r"width / samples, $p/n$")
ax.set_ylabel("test risk")
ax.set_title(rf"ReLU random features, $d = {d}$, $n = {n}$")
ax.legend()
fig.tight_layout()
plt.show()
