"""Plots of the runs (rule report_plots): training curves (mean and range over seeds) and the
confusion matrix summed over seeds; :func:`pyplot` and :func:`save_figure` (byte-stable SVGs)
for every figure of the report."""

from __future__ import annotations

from ..io import atomic_path
from ..tables import fmt_mean_std, mean_std


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, fmt: str, metadata: dict | None = None) -> None:
    """Save ``fig``; an SVG is byte-stable between runs (no date, fixed element ids)."""
    plt = pyplot()
    if fmt == "svg":
        metadata = {"Date": None, **(metadata or {})}
    rc = {"svg.fonttype": "none", "svg.hashsalt": "dlrepro"}
    with atomic_path(path, suffix=f".{fmt}") as tmp, plt.rc_context(rc):
        fig.savefig(tmp, format=fmt, dpi=110, metadata=metadata)
    plt.close(fig)


def history_stats(histories, column: str):
    """Epochs, mean, min and max of one history column over seeds (epochs all seeds have)."""
    import numpy as np

    frames = [h for h in histories if column in h.columns]
    if not frames:
        return None
    n_epochs = min(len(h) for h in frames)
    values = np.array([h[column].to_numpy(dtype=float)[:n_epochs] for h in frames])
    epochs = frames[0]["epoch"].to_numpy()[:n_epochs] if "epoch" in frames[0] else np.arange(1, n_epochs + 1)
    return epochs, values.mean(axis=0), values.min(axis=0), values.max(axis=0), len(frames)


def _epoch_axis(ax, epochs) -> None:
    """Integer epoch ticks; with few epochs every epoch is a tick and the axis spans whole epochs
    (a single epoch is not drawn on a 0.945...1.050 axis)."""
    from matplotlib.ticker import MaxNLocator

    epochs = sorted({int(e) for e in epochs})
    if epochs and epochs[-1] - epochs[0] < 15:
        ax.set_xticks(range(epochs[0], epochs[-1] + 1))
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def plot_curves(
    histories, path, title: str, validation_name: str = "validation", no_validation: str | None = None
) -> list[str]:
    """Training and validation loss / accuracy per epoch: mean over seeds, shaded min-max range.

    ``histories``: one DataFrame per seed (columns ``epoch``, ``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``; missing ones are skipped).  When no history has a ``val_*``
    column the legend says so (``no_validation``, default: the training monitored no held-out
    data), rather than leaving the reader to look for a missing curve.  Returns the plotted
    metrics.
    """
    plt = pyplot()
    metrics = [m for m in ("loss", "accuracy") if any(m in h.columns for h in histories)]
    if not metrics:
        metrics = ["loss"]
    has_validation = any(c.startswith("val_") for h in histories for c in h.columns)
    if no_validation is None:
        no_validation = f"no {validation_name} curve: training monitored no held-out data"
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        all_epochs = []
        for column, name, colour in ((metric, "training", "C0"), (f"val_{metric}", validation_name, "C1")):
            stats = history_stats(histories, column)
            if stats is None:
                continue
            epochs, mean, lo, hi, n = stats
            all_epochs.extend(epochs)
            ax.plot(
                epochs, mean, color=colour, marker="o" if len(epochs) < 30 else None, label=f"{name} (mean)"
            )
            if n > 1 and len(epochs) > 1:
                ax.fill_between(
                    epochs, lo, hi, color=colour, alpha=0.2, label=f"{name} (range over {n} seeds)"
                )
            elif n > 1:  # one epoch: the range as an error bar (a band of zero width is invisible)
                ax.errorbar(
                    epochs,
                    mean,
                    yerr=[mean - lo, hi - mean],
                    fmt="none",
                    ecolor=colour,
                    capsize=4,
                    label=f"{name} (range over {n} seeds)",
                )
        if not has_validation:
            ax.plot([], [], " ", label=no_validation)  # a legend entry without a line
        _epoch_axis(ax, all_epochs)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, "png")
    return metrics


def mean_confusion(matrices):
    """Sum of the confusion matrices over seeds and its row-normalised form (recall per class)."""
    import numpy as np

    total = np.sum([np.asarray(m, dtype=float) for m in matrices], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = total.sum(axis=1, keepdims=True)
        normalised = np.where(rows > 0, total / np.maximum(rows, 1), np.nan)
    return total, normalised


def plot_confusion(matrices, class_names, path, title: str) -> None:
    """Row-normalised confusion matrix summed over seeds (rows: true class, columns: predicted)."""
    import numpy as np

    plt = pyplot()
    total, normalised = mean_confusion(matrices)
    k = len(class_names)
    size = min(2.5 + 0.45 * k, 11)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = ax.imshow(np.nan_to_num(normalised), cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ax.set_xticks(range(k), class_names, rotation=90 if k > 10 or max(map(len, class_names)) > 3 else 0)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                value = normalised[i, j]
                if np.isnan(value):
                    continue
                ax.text(
                    j,
                    i,
                    f"{value:.2f}" if k <= 10 else f"{value * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=8 if k <= 10 else 6,
                    color="white" if value > 0.5 else "black",
                )
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, "png")


def confusion_of(experiment: str, metrics: list[dict]):
    """Confusion matrices (one per seed), class names and the accuracy text of one model's runs."""
    if experiment == "sentiment":
        matrices = [m["subsets"]["all"]["confusion_matrix"] for m in metrics]
        accuracies = [m["subsets"]["all"]["accuracy"] for m in metrics]
        names = ["0 (negative)", "1 (positive)"]
    else:
        matrices = [m["confusion_matrix"] for m in metrics]
        accuracies = [m["accuracy"] for m in metrics]
        labels = metrics[0].get("labels") or list(range(len(matrices[0])))
        names = [str(v) for v in labels]
        if metrics[0].get("class_names"):
            names = [f"{i} {n}" for i, n in zip(labels, metrics[0]["class_names"], strict=False)]
    return matrices, names, fmt_mean_std(*mean_std(accuracies), scale=100)
