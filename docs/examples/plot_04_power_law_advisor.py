"""
A power-law spectrum and the advisor
====================================

Real feature spectra often decay like a power law. Here the feature variances :math:`\\Lambda` have a density
proportional to :math:`\\lambda^{-1.5}` on :math:`[0.1, 10]` and the true weights are Gaussian,
:math:`B \\sim \\mathcal N(0, 1)`, so that the integral over :math:`B` is done in closed form (theory page,
:ref:`theory-gaussian-b`). The world offers :math:`P = 1000` such features, there are :math:`n = 200` samples,
and the deployed model may keep :math:`s = 40` weights.

A practitioner does not know which features are the most salient, so the model grows by adding features in
an order unrelated to saliency (``order="random"``, theory page, :ref:`theory-world`). :func:`dcpredict.advise`
searches every model size :math:`p` from :math:`s` to :math:`P` and every pruning rule, and compares the best
with training a model of :math:`s` features directly.
"""

import matplotlib.pyplot as plt

import dcpredict

law = dcpredict.Law.power_law(1.5, 0.1, 10.0, b_var=1.0)
n, P, s, sigma2 = 200, 1000, 40, 0.1

advice = dcpredict.advise(law, sigma2=sigma2, n=n, s=s, P=P, order="random")
print(advice.summary())

# %%
# The advisor's search, as curves: :func:`dcpredict.predict_world_curve` gives every rule at every model
# size. Pruning without retraining inherits the interpolation peak at :math:`p = n`; past it, pruning a wide
# model by Hessian saliency beats a small model on :math:`s` random features and on the :math:`s`
# largest-variance features (which needs no labels). Only the oracle small model, trained on the truly most
# salient features, which nobody knows in practice, does better.

curve = dcpredict.predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2, order="random")
df = curve.to_dataframe()
fig, ax = plt.subplots(figsize=(6.8, 4.2))
styles = {"magnitude": ("tab:blue", "-"), "hessian": ("tab:red", "-"), "random": ("tab:gray", "-"),
          "hessian_retrained": ("tab:orange", ":")}
for field, (color, ls) in styles.items():
    ax.plot(df["p"], df[field], color=color, ls=ls, label=field)
baselines = {"small_random": "tab:brown", "small_top_variance": "tab:olive", "small_oracle": "tab:green"}
for field, color in baselines.items():
    ax.axhline(df[field].iloc[-1], color=color, ls="--", lw=1.2, label=f"train small: {field[6:]}")
ax.axvline(n, color="0.5", ls="--", lw=0.8)
ax.set_ylim(0.5, 2.0)
ax.set_xlabel(f"model size p before pruning (features in random order; n = {n}, s = {s}, P = {P})")
ax.set_ylabel("test risk")
ax.set_title(r"Power-law spectrum $\lambda^{-1.5}$ on [0.1, 10], $B \sim N(0, 1)$")
ax.legend(fontsize=8, ncol=2, loc="upper right")
fig.tight_layout()
plt.show()
