"""The tick-to-trade figure of one layout: the latency percentile curve of each rate (tick to
trade and corrected), and each order's tick to trade over the run (stalls show as columns)."""
from __future__ import annotations

import numpy as np

QS = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]


def plot_layout(path: str, layout: str, series: dict) -> str | None:
    """series: rate label -> (figures of phase_figures, {"t2t"|"corrected": HdrHistogram})."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    if not any(h for _, h in series.values()):
        return None
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.5))
    xs = [1.0 / (1.0 - q / 100.0) for q in QS]
    for lab, (figs, hists) in series.items():
        for what, style in (("t2t", "-"), ("corrected", "--")):
            h = hists.get(what)
            if h is not None:
                ax.plot(xs, [h.get_value_at_percentile(q) / 1e3 for q in QS], style, marker="o", markersize=3,
                        label=f"{lab}/s {'tick to trade' if what == 't2t' else 'corrected'}")
        if len(figs["recv"]):
            t = (figs["recv"] - figs["recv"][0]) / 1e9
            bx.plot(t, np.maximum(figs["t2t"], 1) / 1e3, ".", markersize=2, label=f"{lab}/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{q}%" for q in QS], rotation=30)
    ax.set_xlabel("percentile")
    ax.set_ylabel("µs (log)")
    ax.set_title(f"{layout}: quote on the feed socket → NewOrderSingle received")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    bx.set_yscale("log")
    bx.set_xlabel("s into the phase")
    bx.set_ylabel("tick to trade, µs (log)")
    bx.set_title("each order over its phase")
    bx.grid(True, which="both", alpha=0.3)
    bx.legend(fontsize=8, markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
