"""
Double descent of the dense risk, against the closed form
=========================================================

For isotropic features (every :math:`\\lambda_i = 1`) the distributional characterization can be solved
by hand, and the dense test risk is the ridgeless risk of Hastie, Montanari, Rosset and Tibshirani (2019):

.. math::

    R(\\kappa) = \\begin{cases}
        \\sigma^2 / (1 - \\kappa), & \\kappa < 1, \\\\
        \\sigma^2 + r_2 (1 - 1/\\kappa) + \\sigma^2 / (\\kappa - 1), & \\kappa > 1,
    \\end{cases}

with :math:`r_2 = \\mathbb E[B^2]` the signal power and :math:`\\kappa = p/n` (theory page,
:ref:`theory-dc`). Here :func:`dcpredict.predict_grid` computes the dense risk on a grid of
:math:`\\kappa` and we compare it with the formula.
"""

import matplotlib.pyplot as plt
import numpy as np

import dcpredict

sigma2 = 0.25
law = dcpredict.Law(lam=[1.0], b=[1.0])          # isotropic, E[B^2] = 1
r2 = law.signal_power

kappas = np.concatenate([np.geomspace(0.1, 0.97, 80), np.geomspace(1.03, 10.0, 120)])
grid = dcpredict.predict_grid(law, kappas, [1.0], sigma2=sigma2)
dense = grid.dense[:, 0]

closed = np.where(kappas < 1, sigma2 / (1 - kappas),
                  sigma2 + r2 * (1 - 1 / kappas) + sigma2 / (kappas - 1))
print(f"largest relative difference from the closed form: {np.max(np.abs(dense / closed - 1)):.1e}")

# %%
# The two agree to rounding error. The risk includes the noise :math:`\sigma^2`, so it never falls below
# the dotted line; its peak at the interpolation threshold :math:`\kappa = 1` is infinite, and the second
# descent tends to :math:`\sigma^2 + r_2` only as :math:`\kappa \to \infty`, because the min-norm fit of a
# very wide model shrinks every weight to zero.

fig, ax = plt.subplots(figsize=(6.4, 4.0))
ax.plot(kappas, closed, color="0.75", lw=5, label="closed form (Hastie et al. 2019)")
ax.plot(kappas, dense, color="black", lw=1.5, label="dcpredict.predict_grid: dense")
ax.axhline(sigma2, color="0.4", ls=":", lw=1, label=r"noise $\sigma^2$")
ax.axvline(1.0, color="0.4", ls="--", lw=0.8)
ax.set_xscale("log")
ax.set_ylim(0, 3)
ax.set_xlabel(r"$\kappa = p/n$")
ax.set_ylabel("test risk")
ax.set_title(r"Isotropic features, $\sigma^2 = 0.25$, $E[B^2] = 1$")
ax.legend(loc="upper right")
fig.tight_layout()
plt.show()
