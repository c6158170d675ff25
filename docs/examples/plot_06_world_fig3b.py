"""
Train small or prune big, on your own features (the paper's Fig. 3b question)
=============================================================================

The paper's Fig. 3 asks: the world offers :math:`P` features and :math:`n` samples, and the deployed model may
keep :math:`s` weights. Is it better to train a model on :math:`s` features directly, or to fit a bigger model
on :math:`p > s` features and prune it to :math:`s`? The model of size :math:`p` fits the :math:`p` most
salient features (true saliency :math:`\\lambda_i B_i^2`), the features it leaves out act as noise, and the
budget :math:`s` stays fixed while :math:`p` grows (theory page, :ref:`theory-world`).

Here the world is a made-up three-tier spectrum with equal true weights: 3 % of the features are strong
(variance 20), 17 % medium (variance 3) and 80 % weak (variance 0.5). :func:`dcpredict.predict_world_curve`
gives every risk at every :math:`p` from :math:`s` to :math:`P`.
"""

import matplotlib.pyplot as plt

import dcpredict

law = dcpredict.Law(lam=[20.0, 3.0, 0.5], b=[1.0, 1.0, 1.0], weights=[0.03, 0.17, 0.80])
n, P, s, sigma2 = 200, 1000, 40, 0.1

curve = dcpredict.predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2)
df = curve.to_dataframe()
at_P = df.iloc[-1]
print(f"train small on the best s = {s} features: {at_P['small_oracle']:.3f}")
for field in ("magnitude", "hessian", "oracle_pruned", "hessian_retrained"):
    print(f"fit all P = {P} features, {field:17s}: {at_P[field]:.3f}")
print(f"predict zero: {at_P['zero_model']:.3f}")

# %%
# Below the green line, pruning the big model beats training small, even on the truly best features.
# Hessian pruning (saliency :math:`\lambda_i\hat\beta_i^2`) gets there once the model is about three times
# the sample size; magnitude pruning never does: with unequal variances, a large weight is not the same as
# an important one. Retraining the kept weights on fresh samples helps only while the pruned model suffers
# from the interpolation peak; for the large models where pruning pays off it hurts, because the signal of
# the removed features becomes noise for the refit. The dense model does not meet the budget and is drawn for
# reference. All of this is asymptotic theory: check a point of interest with a simulation before acting
# on a few-percent difference.

fig, ax = plt.subplots(figsize=(6.8, 4.2))
styles = {"dense": ("black", "-", "dense, all p weights (over budget)"),
          "magnitude": ("tab:blue", "-", "magnitude pruning"),
          "hessian": ("tab:red", "-", "Hessian pruning"),
          "oracle_pruned": ("tab:purple", "--", "Oracle pruning"),
          "hessian_retrained": ("tab:orange", ":", "Hessian + fresh retraining")}
for field, (color, ls, label) in styles.items():
    ax.plot(df["p"], df[field], color=color, ls=ls, label=label)
ax.axhline(at_P["small_oracle"], color="tab:green", lw=2, alpha=0.7, label=f"train small on best {s}")
ax.axhline(at_P["zero_model"], color="0.6", ls="-.", lw=1, label="predict zero")
ax.axvline(s, color="0.5", lw=0.8)
ax.axvline(n, color="0.5", ls="--", lw=0.8)
ax.set_ylim(0.6, 2.0)
ax.set_xlabel(f"model size p (first p features by saliency; s = {s}, n = {n}, P = {P})")
ax.set_ylabel("test risk")
ax.set_title("Prune a big model or train a small one? (fixed world)")
ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()
plt.show()
