"""TrainingCurveDisplay: the plotted data, labels, options and rendering."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import (
    TrainingCurveDisplay,
    TwoLayerClassifier,
    TwoLayerRegressor,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits(digits):
    # The first 600 digits: enough for these checks, and quick.
    X, y = digits
    return X[:600], y[:600]


@pytest.fixture(scope="module")
def early_stopped(fit_quietly, digits):
    clf = TwoLayerClassifier(
        n_hidden=16,
        max_iter=15,
        early_stopping=True,
        n_iter_no_change=100,
        random_state=0,
    )
    return fit_quietly(clf, *digits)


@pytest.fixture(scope="module")
def plain(fit_quietly, digits):
    clf = TwoLayerClassifier(n_hidden=16, max_iter=12, random_state=0)
    return fit_quietly(clf, *digits)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=400, n_features=6, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


@pytest.fixture(scope="module")
def early_stopped_regressor(fit_quietly, regression):
    reg = TwoLayerRegressor(
        n_hidden=16,
        max_iter=15,
        learning_rate_init=0.01,
        early_stopping=True,
        n_iter_no_change=100,
        random_state=0,
    )
    return fit_quietly(reg, *regression)


def legend_texts(display):
    return [text.get_text() for text in display.ax_.get_legend().get_texts()]


def test_lines_hold_loss_curve_and_validation_scores_exactly(early_stopped):
    display = TrainingCurveDisplay.from_estimator(early_stopped)

    epochs = np.arange(1, early_stopped.n_iter_ + 1)
    assert len(early_stopped.loss_curve_) == early_stopped.n_iter_ == 15
    np.testing.assert_array_equal(display.loss_line_.get_xdata(), epochs)
    np.testing.assert_array_equal(
        display.loss_line_.get_ydata(), early_stopped.loss_curve_
    )
    np.testing.assert_array_equal(display.validation_score_line_.get_xdata(), epochs)
    np.testing.assert_array_equal(
        display.validation_score_line_.get_ydata(), early_stopped.validation_scores_
    )
    np.testing.assert_array_equal(
        display.validation_loss_line_.get_ydata(),
        early_stopped.validation_loss_curve_,
    )
    assert display.validation_score_line_.axes is display.validation_ax_
    assert display.loss_line_.axes is display.ax_
    assert display.validation_loss_line_.axes is display.ax_


def test_labels_title_and_legend_name_every_curve(early_stopped):
    display = TrainingCurveDisplay.from_estimator(early_stopped)

    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Loss"
    assert display.validation_ax_.get_ylabel() == "Validation accuracy"
    assert display.ax_.get_title() == "Training curve of TwoLayerClassifier"
    assert legend_texts(display) == [
        "Training loss",
        "Validation loss",
        "Validation accuracy",
    ]
    # The legend belongs to the axes drawn on top, so no line hides it.
    assert display.ax_.get_zorder() > display.validation_ax_.get_zorder()
    assert display.figure_ is display.ax_.figure


def test_regressor_validation_axis_shows_r2(early_stopped_regressor):
    reg = early_stopped_regressor
    display = TrainingCurveDisplay.from_estimator(reg)

    assert display.score_name == "R²"
    assert display.validation_ax_.get_ylabel() == "Validation R²"
    assert display.ax_.get_ylabel() == "Loss"
    assert display.ax_.get_title() == "Training curve of TwoLayerRegressor"
    assert legend_texts(display) == [
        "Training loss",
        "Validation loss",
        "Validation R²",
    ]
    epochs = np.arange(1, reg.n_iter_ + 1)
    assert reg.n_iter_ == 15
    np.testing.assert_array_equal(display.loss_line_.get_ydata(), reg.loss_curve_)
    np.testing.assert_array_equal(display.validation_score_line_.get_xdata(), epochs)
    np.testing.assert_array_equal(
        display.validation_score_line_.get_ydata(), reg.validation_scores_
    )
    np.testing.assert_array_equal(
        display.validation_loss_line_.get_ydata(), reg.validation_loss_curve_
    )
    assert display.validation_score_line_.axes is display.validation_ax_


def test_regressor_in_a_pipeline_and_with_lbfgs(fit_quietly, regression):
    X, y = regression
    pipeline = fit_quietly(
        make_pipeline(
            StandardScaler(),
            TwoLayerRegressor(n_hidden=8, solver="lbfgs", max_iter=10, random_state=0),
        ),
        X,
        y,
    )

    display = TrainingCurveDisplay.from_estimator(pipeline)

    assert display.ax_.get_xlabel() == "Iteration"
    assert display.validation_ax_ is None
    assert legend_texts(display) == ["Training loss"]
    np.testing.assert_array_equal(
        display.loss_line_.get_ydata(), pipeline[-1].loss_curve_
    )


def test_mlpregressor_validation_scores_are_labelled_r2(fit_quietly, regression):
    mlp = fit_quietly(
        MLPRegressor(
            hidden_layer_sizes=(8,),
            max_iter=8,
            early_stopping=True,
            n_iter_no_change=100,
            random_state=0,
        ),
        *regression,
    )

    display = TrainingCurveDisplay.from_estimator(mlp)

    assert display.validation_ax_.get_ylabel() == "Validation R²"
    np.testing.assert_array_equal(
        display.validation_score_line_.get_ydata(), mlp.validation_scores_
    )


def test_without_early_stopping_there_is_no_validation_line_or_axis(plain):
    display = TrainingCurveDisplay.from_estimator(plain)

    assert display.validation_ax_ is None
    assert display.validation_score_line_ is None
    assert display.validation_loss_line_ is None
    assert len(display.figure_.axes) == 1
    assert legend_texts(display) == ["Training loss"]
    np.testing.assert_array_equal(
        display.loss_line_.get_xdata(), np.arange(1, plain.n_iter_ + 1)
    )
    np.testing.assert_array_equal(display.loss_line_.get_ydata(), plain.loss_curve_)


def test_refit_without_early_stopping_shows_no_stale_validation(fit_quietly, digits):
    clf = TwoLayerClassifier(
        n_hidden=8, max_iter=6, early_stopping=True, random_state=0
    )
    fit_quietly(clf, *digits)
    fit_quietly(clf.set_params(early_stopping=False, max_iter=4), *digits)

    display = TrainingCurveDisplay.from_estimator(clf)

    assert display.validation_ax_ is None
    assert legend_texts(display) == ["Training loss"]


def test_lbfgs_curve_is_plotted_per_iteration(fit_quietly, digits):
    clf = fit_quietly(
        TwoLayerClassifier(n_hidden=8, solver="lbfgs", max_iter=10, random_state=0),
        *digits,
    )

    display = TrainingCurveDisplay.from_estimator(clf)

    assert display.ax_.get_xlabel() == "Iteration"
    assert display.validation_ax_ is None
    np.testing.assert_array_equal(display.loss_line_.get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(
        display.loss_line_.get_xdata(), np.arange(1, len(clf.loss_curve_) + 1)
    )


def test_draws_into_the_given_axes(early_stopped):
    figure, (left, right) = plt.subplots(ncols=2)

    display = TrainingCurveDisplay.from_estimator(early_stopped, ax=right)

    assert display.ax_ is right
    assert display.figure_ is figure
    assert display.loss_line_ in right.get_lines()
    assert not left.get_lines()
    assert display.validation_ax_.get_shared_x_axes().joined(
        display.validation_ax_, right
    )


def test_an_existing_title_of_the_given_axes_is_kept(plain):
    _, ax = plt.subplots()
    ax.set_title("My run")

    TrainingCurveDisplay.from_estimator(plain, ax=ax)

    assert ax.get_title() == "My run"


def test_line_keywords_reach_the_lines(early_stopped):
    display = TrainingCurveDisplay.from_estimator(
        early_stopped,
        loss_kw={"color": "black", "linewidth": 3},
        validation_loss_kw={"c": "gray", "label": "Held-out loss"},
        validation_score_kw={"color": "red", "marker": "o"},
    )

    assert display.loss_line_.get_color() == "black"
    assert display.loss_line_.get_linewidth() == 3
    # An alias replaces the default color rather than clashing with it.
    assert display.validation_loss_line_.get_color() == "gray"
    assert display.validation_loss_line_.get_linestyle() == "--"
    assert display.validation_score_line_.get_color() == "red"
    assert display.validation_score_line_.get_marker() == "o"
    assert "Held-out loss" in legend_texts(display)


def test_plot_can_be_called_directly_with_overrides():
    display = TrainingCurveDisplay(
        loss_curve=[1.0, 0.5, 0.25],
        validation_scores=[0.5, 0.75, 0.875],
        estimator_name="MyNet",
    )

    returned = display.plot(name="Other", xlabel="Step")

    assert returned is display
    assert display.ax_.get_title() == "Training curve of Other"
    assert display.ax_.get_xlabel() == "Step"
    assert display.validation_loss_line_ is None
    np.testing.assert_array_equal(display.validation_score_line_.get_xdata(), [1, 2, 3])
    assert legend_texts(display) == ["Training loss", "Validation accuracy"]


def test_score_name_labels_the_validation_axis():
    display = TrainingCurveDisplay(
        loss_curve=[1.0, 0.5], validation_scores=[0.2, 0.4], score_name="R²"
    ).plot()

    assert display.validation_ax_.get_ylabel() == "Validation R²"
    assert legend_texts(display) == ["Training loss", "Validation R²"]


def test_unfitted_estimator_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(TwoLayerClassifier())


def test_fitted_pipeline_plots_its_final_step(fit_quietly, digits):
    pipeline = fit_quietly(
        make_pipeline(
            StandardScaler(), TwoLayerClassifier(n_hidden=8, max_iter=5, random_state=0)
        ),
        *digits,
    )

    display = TrainingCurveDisplay.from_estimator(pipeline)

    np.testing.assert_array_equal(
        display.loss_line_.get_ydata(), pipeline[-1].loss_curve_
    )
    assert display.ax_.get_title() == "Training curve of TwoLayerClassifier"


def test_unfitted_pipeline_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(make_pipeline(TwoLayerClassifier()))


def test_mlpclassifier_with_early_stopping_is_plotted_too(fit_quietly, digits):
    mlp = fit_quietly(
        MLPClassifier(
            hidden_layer_sizes=(8,),
            max_iter=8,
            early_stopping=True,
            n_iter_no_change=100,
            random_state=0,
        ),
        *digits,
    )

    display = TrainingCurveDisplay.from_estimator(mlp)

    np.testing.assert_array_equal(display.loss_line_.get_ydata(), mlp.loss_curve_)
    np.testing.assert_array_equal(
        display.validation_score_line_.get_ydata(), mlp.validation_scores_
    )
    assert display.validation_loss_line_ is None


def test_estimator_without_loss_curve_raises_value_error(fit_quietly, digits):
    mlp = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5), *digits
    )

    with pytest.raises(ValueError, match="no loss curve"):
        TrainingCurveDisplay.from_estimator(mlp)


def test_renders_to_a_png_file(early_stopped, tmp_path):
    display = TrainingCurveDisplay.from_estimator(early_stopped)
    path = tmp_path / "curve.png"

    display.figure_.savefig(path, dpi=50)

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    width, height = display.figure_.get_size_inches() * 50
    assert image.shape[:2] == (round(height), round(width))
    assert image.shape[2] in (3, 4)
    colours = np.unique(image.reshape(-1, image.shape[2]), axis=0)
    assert len(colours) > 10


def test_missing_matplotlib_gives_an_install_hint(monkeypatch):
    display = TrainingCurveDisplay(loss_curve=[1.0, 0.5])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)

    with pytest.raises(ImportError, match="requires matplotlib") as excinfo:
        display.plot()
    assert 'pip install "sklearn-twolayer[plot]"' in str(excinfo.value)
    assert "TrainingCurveDisplay.plot" in str(excinfo.value)

    with pytest.raises(ImportError, match="TrainingCurveDisplay.from_estimator"):
        TrainingCurveDisplay.from_estimator(TwoLayerClassifier())
