"""
Results as pandas tables
========================

Result objects have ``to_dict()`` (JSON-safe) and ``to_dataframe()`` (pandas). This example turns a
prediction into JSON, a grid of predictions into a DataFrame, compares a small simulation with the theory
in one table, and plots from the DataFrame.
"""

import json

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter
import numpy as np
import pandas as pd

import dcpredict

pd.set_option("display.width", 110)
pd.set_option("display.max_columns", 8)

law = dcpredict.Law(lam=[4, 1, 1, 0.25], b=[2, 1, 0, 0.5], weights=[0.1, 0.2, 0.4, 0.3])
sigma2 = 0.2

# %%
# One prediction: ``to_dict()`` holds the inputs, the DC and every risk, and goes straight to JSON.

r = dcpredict.predict(law, kappa=2.0, alpha=0.1, sigma2=sigma2)
print(json.dumps(r.to_dict(), indent=1)[:400], "...")


# %%
# A grid: ``to_dataframe()`` gives one row per (kappa, alpha) point, in long format (``to_xarray()`` gives
# the same as labelled arrays).

grid = dcpredict.predict_grid(law, np.geomspace(0.2, 8, 60), [0.1, 0.3, 0.6], sigma2=sigma2)
df = grid.to_dataframe()
print(df.head())

# %%
# A simulation at three points, next to the theory for the same points: a table built from the
# simulations' ``mean`` and ``stderr`` (dicts over the fields) and the predictions' attributes.

rows = []
for kappa in (0.5, 2.0, 4.0):
    sim = dcpredict.simulate(law, kappa=kappa, alpha=0.3, sigma2=sigma2, n=200, trials=12, seed=3, workers=1)
    theory = dcpredict.predict(law, kappa=kappa, alpha=0.3, sigma2=sigma2)
    for field in ("dense", "magnitude", "random", "magnitude_retrained"):
        rows.append({"kappa": kappa, "field": field, "theory": getattr(theory, field),
                     "simulation": sim.mean[field], "stderr": sim.stderr[field]})
check = pd.DataFrame(rows)
check["z"] = (check["simulation"] - check["theory"]) / check["stderr"]
print(check.round(4).to_string(index=False))

# %%
# Plot straight from the long table: one curve per kept fraction. With this law, keeping 60 % of the
# weights by Hessian saliency costs almost nothing (its curve lies under the dashed dense one). Keeping 10 %
# costs a lot well below the interpolation peak, but just past the peak it even beats the dense model,
# whose fit the peak has wrecked.

fig, ax = plt.subplots(figsize=(6.4, 4.0))
for alpha, part in df.groupby("alpha"):
    ax.plot(part["kappa"], part["hessian"], label=rf"Hessian, $\alpha = {alpha:g}$")
dense = df[df["alpha"] == 0.1]
ax.plot(dense["kappa"], dense["dense"], color="black", ls="--", lw=1, label="dense")
ax.axvline(1.0, color="0.5", ls="--", lw=0.8)
ax.set_xscale("log")
ax.set_xticks([0.2, 0.5, 1, 2, 5], labels=["0.2", "0.5", "1", "2", "5"])
ax.xaxis.set_minor_formatter(NullFormatter())
ax.set_ylim(0, 3)
ax.set_xlabel(r"$\kappa = p/n$")
ax.set_ylabel("test risk")
ax.set_title("Plotted from a pandas DataFrame")
ax.legend()
fig.tight_layout()
plt.show()
