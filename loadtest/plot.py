"""``--plot FILE.png``: latency and bitrate over time, and time to first frame (matplotlib Agg)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def check_available() -> None:
    """Raise PlotUnavailable before a run rather than after it."""
    try:
        import matplotlib  # noqa: F401  # optional: only --plot needs it
    except ImportError:
        raise PlotUnavailable(
            "--plot needs matplotlib: pip install 'coshop[loadtest]'") from None


def write_plot(report: Mapping[str, Any], path: str | Path) -> None:
    """Draw the run's timeline and time-to-first-frame distribution into ``path``."""
    check_available()
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    timeline = report["timeline"]
    t = [e["t"] for e in timeline]
    fig, (ax_lat, ax_rate, ax_ttff) = plt.subplots(3, 1, figsize=(10, 10))
    sc = report["scenario"]
    fig.suptitle(f"coshop loadtest: {sc['rooms']} room(s) x {sc['peers']} peers, {sc['preset']}")

    for stat, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        ax_lat.plot(t, [e["latency_ms"][stat] for e in timeline], style, label=stat)
    ax_lat.set_ylabel("one-way latency (ms)")
    ax_lat.set_xlabel("time (s)")
    ax_lat.legend(loc="upper left")
    ax_lat.grid(alpha=0.3)

    ax_rate.plot(t, [e["rx_bps"] / 1e6 for e in timeline], label="received")
    ax_rate.set_ylabel("received (Mbit/s)")
    ax_rate.set_xlabel("time (s)")
    ax_rate.grid(alpha=0.3)
    peers = ax_rate.twinx()
    peers.plot(t, [e["peers"] for e in timeline], color="gray", alpha=0.6, label="peers joined")
    peers.set_ylabel("peers joined")
    peers.set_ylim(bottom=0)

    values = report["ttff_ms"]["values"]
    if values:
        ax_ttff.hist(values, bins=min(40, max(5, len(values) // 3)))
    ax_ttff.set_xlabel("time to first frame per route (ms)")
    ax_ttff.set_ylabel("routes")
    ax_ttff.grid(alpha=0.3)

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
