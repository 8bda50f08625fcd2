"""Growth fits for benchmarks/scale.py: which curve (constant, linear, n log n, quadratic, each
with an intercept) follows a cost best as the corpus grows, and what it predicts further out.

Pure functions over (chunks, cost) points; the plot is drawn by :func:`plot`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODELS: dict[str, Callable[[float], float]] = {
    "constant": lambda n: 0.0,
    "linear": lambda n: n,
    "n log n": lambda n: n * math.log(n),
    "quadratic": lambda n: n * n,
}
"""The shape of each model: cost = a + b * shape(chunks)."""


@dataclass(frozen=True, slots=True)
class Fit:
    """``cost = intercept + slope * shape(chunks)`` for the model named ``model``; ``rms`` is
    the root-mean-square residual over the points it was fitted to."""

    model: str
    intercept: float
    slope: float
    rms: float

    def predict(self, chunks: float) -> float:
        """The fitted cost at ``chunks``."""
        return self.intercept + self.slope * MODELS[self.model](chunks)

    def describe(self) -> str:
        if self.model == "constant":
            return f"{self.intercept:.4g}"
        shape = {"linear": "n", "n log n": "n ln n", "quadratic": "n^2"}[self.model]
        return f"{self.intercept:.4g} + {self.slope:.4g} * {shape}"


def fit(model: str, chunks: Sequence[float], costs: Sequence[float]) -> Fit:
    """Least squares of ``costs`` on ``model``'s shape of ``chunks``, with an intercept (through
    the origin when there are fewer than three points, so two points still give a slope)."""
    x = np.array([MODELS[model](n) for n in chunks], dtype=np.float64)
    y = np.array(costs, dtype=np.float64)
    if len(x) >= 3:
        design = np.column_stack([np.ones_like(x), x])
        (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
    else:
        intercept, slope = 0.0, float(x @ y) / max(float(x @ x), 1e-300)
    residual = y - (intercept + slope * x)
    return Fit(model, float(intercept), float(slope), float(np.sqrt(np.mean(residual**2))))


FLAT = 0.1
"""A cost whose points stay within this share of their mean is called constant."""


def best_fit(chunks: Sequence[float], costs: Sequence[float]) -> Fit | None:
    """The model with the smallest residual, preferring the simpler one (linear, then n log n,
    then quadratic) unless a more complex one halves the residual; a cost that stays within
    ``FLAT`` of its mean, or falls as the corpus grows, is constant (its mean); None under two
    points. Three or four points cannot tell n from n log n with confidence: read the others."""
    points = [(n, c) for n, c in zip(chunks, costs, strict=True) if n > 1 and math.isfinite(c)]
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean = sum(ys) / len(ys)
    flat = Fit("constant", mean, 0.0, float(np.sqrt(np.mean((np.array(ys) - mean) ** 2))))
    if max(ys) - min(ys) <= FLAT * abs(mean) or fit("linear", xs, ys).slope <= 0:
        return flat
    best: Fit | None = None
    for model in ("linear", "n log n", "quadratic"):
        candidate = fit(model, xs, ys)
        if best is None or candidate.rms < 0.5 * best.rms:
            best = candidate
    return best


def plot(series: dict[str, tuple[list[float], list[float]]], fits: dict[str, Fit | None],
         out: Path) -> None:
    """One panel per cost: the measured points and the fitted curve, against chunks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(series)
    columns = 3
    rows = max(1, math.ceil(len(names) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.4 * rows), squeeze=False)
    for index, name in enumerate(names):
        ax = axes[index // columns][index % columns]
        xs, ys = series[name]
        ax.plot(xs, ys, "o", color="tab:blue")
        found = fits.get(name)
        if found is not None and xs:
            grid = np.linspace(min(xs) * 0.9, max(xs) * 1.1, 50)
            ax.plot(grid, [found.predict(float(n)) for n in grid], "-", color="tab:orange",
                    label=f"{found.model}: {found.describe()}")
            ax.legend(fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("chunks", fontsize=8)
        ax.tick_params(labelsize=7)
    for index in range(len(names), rows * columns):
        axes[index // columns][index % columns].axis("off")
    figure.tight_layout()
    figure.savefig(out, dpi=80)
    plt.close(figure)
