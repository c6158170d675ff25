"""Theory meets real data: a user's dataset as the population of a linear Gaussian problem.

(Minimal placeholder of the data-real branch; the data-core branch provides the full subpackage.)
"""
