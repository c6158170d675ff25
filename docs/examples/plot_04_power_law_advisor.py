"""
A power-law spectrum and the advisor
====================================

Real feature spectra often decay like a power law. Here the feature variances :math:`\\Lambda` have a density
proportional to :math:`\\lambda^{-1.5}` on :math:`[0.1, 10]` and the true weights are Gaussian,
:math:`B \\sim \\mathcal N(0, 1)`: a continuous law, discretised by quadrature (theory page,
:ref:`theory-gaussian-b`). With :math:`n = 200` samples and a budget of :math:`s = 40` weights,
:func:`dcpredict.advise` sweeps the size of the model fitted before pruning and compares every pruning rule
with training a small model directly.
"""

import matplotlib.pyplot as plt

import dcpredict

law = dcpredict.Law.power_law(1.5, 0.1, 10.0, b_var=1.0)
advice = dcpredict.advise(law, sigma2=0.1, n=200, s=40)
print(advice.summary())

# %%
# The same numbers as curves. Every point keeps :math:`s = 40` weights; the model fitted first has
# :math:`p = \kappa n` features. Pruning without retraining inherits the interpolation peak at
# :math:`p = n`, so the model to prune should be well past it (or well below it).

table = advice.table()
kappas = advice.kappas
fig, ax = plt.subplots(figsize=(6.4, 4.0))
styles = {"magnitude": ("tab:blue", "-"), "hessian": ("tab:red", "-"), "random": ("tab:gray", "-"),
          "magnitude_retrained": ("tab:cyan", ":"), "hessian_retrained": ("tab:orange", ":"),
          "small_oracle": ("tab:green", "--")}
for field, values in table.items():
    color, ls = styles.get(field, ("black", "-"))
    ax.plot(kappas * 200, values, color=color, ls=ls, label=field)
ax.axvline(200, color="0.5", ls="--", lw=0.8)
ax.set_ylim(0.4, 2.0)
ax.set_xlabel("model size p before pruning (n = 200, s = 40)")
ax.set_ylabel("test risk")
ax.set_title(r"Power-law spectrum $\lambda^{-1.5}$ on [0.1, 10]: the advisor's sweep")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
