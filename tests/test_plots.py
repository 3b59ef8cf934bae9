"""Training-curve plots: integer epoch axes, one-epoch runs, histories without a validation part."""

from __future__ import annotations

import pandas as pd
import pytest

from dlrepro.report import plots as P


@pytest.fixture
def figures(monkeypatch):
    """The figures plot_curves would save (kept open for inspection)."""
    saved = []
    monkeypatch.setattr(P, "save_figure", lambda fig, path, fmt, metadata=None: saved.append(fig))
    yield saved
    plt = P.pyplot()
    for fig in saved:
        plt.close(fig)


def _history(epochs, loss, val=True, accuracy=None):
    data = {"epoch": epochs, "loss": loss, "accuracy": accuracy or [0.5 + 0.01 * e for e in epochs]}
    if val:
        data["val_loss"] = [v + 0.1 for v in loss]
        data["val_accuracy"] = [a - 0.05 for a in data["accuracy"]]
    return pd.DataFrame(data)


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_one_epoch_has_one_integer_tick_and_a_visible_range(figures):
    histories = [_history([1], [0.9]), _history([1], [0.7])]
    P.plot_curves(histories, "unused.png", "t")
    (fig,) = figures
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [1]
        assert ax.get_xlim() == pytest.approx((0.5, 1.5))
        # the range over the two seeds is drawn (an error bar: a band of zero width is invisible)
        assert "training (range over 2 seeds)" in _legend(ax)
        assert ax.lines[0].get_marker() == "o"


def test_few_epochs_every_epoch_a_tick(figures):
    P.plot_curves([_history([1, 2, 3], [0.9, 0.5, 0.4])], "unused.png", "t")
    assert list(figures[0].axes[0].get_xticks()) == [1, 2, 3]


def test_many_epochs_integer_ticks(figures):
    epochs = list(range(1, 201))
    P.plot_curves([_history(epochs, [1 / e for e in epochs])], "unused.png", "t")
    ax = figures[0].axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert 2 <= len(ticks) <= 12 and all(float(t).is_integer() for t in ticks)
    assert ax.lines[0].get_marker() in ("None", None, "")


def test_history_without_validation_says_so(figures):
    histories = [_history([1, 2], [0.9, 0.5], val=False), _history([1, 2], [0.8, 0.6], val=False)]
    P.plot_curves(histories, "unused.png", "t")
    for ax in figures[0].axes:
        legend = _legend(ax)
        assert "no validation curve: training monitored no held-out data" in legend
        assert not any(text.startswith("validation") for text in legend)


def test_history_with_validation_has_its_curve(figures):
    P.plot_curves([_history([1, 2], [0.9, 0.5])], "unused.png", "t", validation_name="test (monitoring)")
    legend = _legend(figures[0].axes[0])
    assert "test (monitoring) (mean)" in legend
    assert not any(text.startswith("no ") for text in legend)


def test_custom_no_validation_text(figures):
    P.plot_curves(
        [_history([1, 2], [0.9, 0.5], val=False)], "unused.png", "t", no_validation="nothing held out"
    )
    assert "nothing held out" in _legend(figures[0].axes[0])
