"""Classification maps (PNG)."""

from __future__ import annotations

import numpy as np

from ..io import atomic_path


def class_colours(n_classes: int) -> np.ndarray:
    """RGB (0..1) of class 0 (black, unlabelled) .. n: SPy's standard class colours."""
    from spectral import spy_colors

    colours = np.asarray(spy_colors, dtype=float) / 255.0
    return colours[np.arange(n_classes + 1) % len(colours)]


def plot_maps(path, gt, train_mask, test_mask, predicted, class_names, title: str) -> None:
    """One PNG: ground truth, training pixels, test pixels, prediction (whole scene and
    labelled pixels only), with the class legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    n = len(class_names)
    colours = class_colours(n)
    cmap = ListedColormap(colours)
    panels = [
        ("ground truth", gt),
        (f"training pixels ({int(train_mask.sum())})", np.where(train_mask, gt, 0)),
        (f"test pixels ({int(test_mask.sum())})", np.where(test_mask, gt, 0)),
        ("predicted (whole scene)", predicted),
        ("predicted (labelled pixels)", np.where(gt > 0, predicted, 0)),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 5.2), constrained_layout=True)
    for ax, (name, img) in zip(axes, panels, strict=True):
        ax.imshow(img, cmap=cmap, vmin=0, vmax=n, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [
        Patch(facecolor=colours[i], edgecolor="grey", label=f"{i} {name}")
        for i, name in enumerate(class_names, start=1)
    ]
    handles.insert(0, Patch(facecolor=colours[0], edgecolor="grey", label="0 unlabelled / not used"))
    fig.legend(
        handles=handles, loc="outside lower center", ncol=min(6, len(handles)), fontsize=8, frameon=False
    )
    fig.suptitle(title, fontsize=11)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
