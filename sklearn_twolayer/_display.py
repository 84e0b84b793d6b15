"""Plot of a fitted network's training curve."""

import numpy as np
from sklearn.base import is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


def _import_pyplot(caller_name):
    """Import matplotlib.pyplot, with an install hint when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib, an optional dependency of "
            'sklearn-twolayer. Install it with `pip install "sklearn-twolayer[plot]"` '
            "or `pip install matplotlib`."
        ) from exc
    return plt


def _line_kwargs(default_kw, user_kw):
    """``default_kw`` updated by ``user_kw``, aliases resolved first, so that
    ``c="red"`` replaces a default ``color`` instead of clashing with it."""
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    return {
        **normalize_kwargs(default_kw, Line2D),
        **normalize_kwargs(user_kw or {}, Line2D),
    }


def _validation_history(estimator, attribute):
    """The estimator's per-epoch validation history, or None without one
    (no early stopping, or a solver that ignores it and leaves it empty)."""
    history = getattr(estimator, attribute, None)
    if history is None or len(history) == 0:
        return None
    return history


class TrainingCurveDisplay:
    """Training curve of a neural network: loss, and validation score.

    The training loss of each epoch goes on the left y-axis. When there is
    validation data (a fit with ``early_stopping=True``), the loss of the
    validation samples is drawn on the same axis, and the validation score
    (a classifier's accuracy, a regressor's R²) on a second y-axis on the
    right.

    It is recommended to create a display with :meth:`from_estimator`.
    All parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iterations,)
        Training loss after each epoch (or iteration), as in a fitted
        estimator's ``loss_curve_``.

    validation_scores : array-like of shape (n_iterations,), default=None
        Validation score after each epoch, as in ``validation_scores_``.
        None: no validation score axis.

    validation_loss_curve : array-like of shape (n_iterations,), default=None
        Loss of the validation samples after each epoch, as in
        ``validation_loss_curve_``. None: no validation loss line.

    estimator_name : str, default=None
        Name of the estimator, shown in the title. None: no name.

    xlabel : str, default="Epoch"
        Label of the x-axis, the unit one entry of the curves stands for.

    score_name : str, default="accuracy"
        Name of the validation score, labelled "Validation <score_name>":
        "accuracy" for a classifier, "R²" for a regressor.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the loss curves (left y-axis) and the legend.

    validation_ax_ : matplotlib Axes or None
        Secondary axes, sharing the x-axis of ``ax_``, with the validation
        score; None without validation scores.

    figure_ : matplotlib Figure
        Figure containing the curves.

    loss_line_ : matplotlib Line2D
        Training loss line.

    validation_loss_line_ : matplotlib Line2D or None
        Validation loss line; None without a validation loss curve.

    validation_score_line_ : matplotlib Line2D or None
        Validation score line; None without validation scores.

    See Also
    --------
    TrainingCurveDisplay.from_estimator : Plot the training curve of a fitted
        classifier or regressor.
    sklearn.model_selection.LearningCurveDisplay : Scores as a function of
        the number of training samples.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_twolayer import TwoLayerClassifier, TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TwoLayerClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> plt.show()
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_scores=None,
        validation_loss_curve=None,
        estimator_name=None,
        xlabel="Epoch",
        score_name="accuracy",
    ):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.validation_loss_curve = validation_loss_curve
        self.estimator_name = estimator_name
        self.xlabel = xlabel
        self.score_name = score_name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        xlabel=None,
        loss_kw=None,
        validation_loss_kw=None,
        validation_score_kw=None,
    ):
        """Plot the training curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on. None: a new figure and axes are created.

        name : str, default=None
            Name of the estimator, shown in the title. None: use
            ``estimator_name``. The title is only set when ``ax`` has none.

        xlabel : str, default=None
            Label of the x-axis. None: use the ``xlabel`` attribute.

        loss_kw : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.plot` drawing
            the training loss, e.g. ``{"color": "black"}``.

        validation_loss_kw : dict, default=None
            Keyword arguments for the validation loss line.

        validation_score_kw : dict, default=None
            Keyword arguments for the validation score line.

        Returns
        -------
        display : TrainingCurveDisplay
            Object that stores the computed values.
        """
        plt = _import_pyplot(f"{self.__class__.__name__}.plot")
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        xlabel = self.xlabel if xlabel is None else xlabel

        loss = np.asarray(self.loss_curve, dtype=float)
        lines = []
        self.loss_line_ = ax.plot(
            np.arange(1, loss.shape[0] + 1),
            loss,
            **_line_kwargs({"color": "C0", "label": "Training loss"}, loss_kw),
        )[0]
        lines.append(self.loss_line_)

        self.validation_loss_line_ = None
        if self.validation_loss_curve is not None:
            validation_loss = np.asarray(self.validation_loss_curve, dtype=float)
            self.validation_loss_line_ = ax.plot(
                np.arange(1, validation_loss.shape[0] + 1),
                validation_loss,
                **_line_kwargs(
                    {"color": "C0", "linestyle": "--", "label": "Validation loss"},
                    validation_loss_kw,
                ),
            )[0]
            lines.append(self.validation_loss_line_)

        self.validation_ax_ = None
        self.validation_score_line_ = None
        if self.validation_scores is not None:
            scores = np.asarray(self.validation_scores, dtype=float)
            score_label = f"Validation {self.score_name}"
            self.validation_ax_ = ax.twinx()
            self.validation_score_line_ = self.validation_ax_.plot(
                np.arange(1, scores.shape[0] + 1),
                scores,
                **_line_kwargs(
                    {"color": "C1", "label": score_label}, validation_score_kw
                ),
            )[0]
            lines.append(self.validation_score_line_)
            self.validation_ax_.set_ylabel(score_label)
            # The twin axes is drawn over ax, and would hide a legend of ax:
            # put ax on top instead, its background moved to the twin.
            self.validation_ax_.set_facecolor(ax.get_facecolor())
            self.validation_ax_.patch.set_visible(ax.patch.get_visible())
            ax.set_zorder(self.validation_ax_.get_zorder() + 1)
            ax.patch.set_visible(False)

        ax.set_xlabel(xlabel)
        ax.set_ylabel("Loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if not ax.get_title():
            title = "Training curve" if name is None else f"Training curve of {name}"
            ax.set_title(title)
        # loc="best" avoids only the lines of ax, not those of the twin axes;
        # falling loss and rising score leave the middle right free.
        loc = "best" if self.validation_ax_ is None else "center right"
        ax.legend(handles=lines, loc=loc)

        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        name=None,
        loss_kw=None,
        validation_loss_kw=None,
        validation_score_kw=None,
    ):
        """Plot the training curve of a fitted classifier or regressor.

        Reads ``loss_curve_`` and, when the estimator was fitted with
        ``early_stopping=True``, ``validation_scores_`` and
        ``validation_loss_curve_``. The validation scores are labelled
        "Validation accuracy" for a classifier and "Validation R²" for a
        regressor, the scores their early stopping records. For
        ``solver="lbfgs"``, whose ``loss_curve_`` holds one entry per
        iteration, the x-axis is labelled "Iteration".

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~sklearn_twolayer.TwoLayerClassifier` or
            :class:`~sklearn_twolayer.TwoLayerRegressor` (or another
            estimator with ``loss_curve_``, such as
            :class:`~sklearn.neural_network.MLPClassifier` or
            :class:`~sklearn.neural_network.MLPRegressor`), or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending with one.

        ax : matplotlib Axes, default=None
            Axes to plot on. None: a new figure and axes are created.

        name : str, default=None
            Name shown in the title. None: the estimator's class name.

        loss_kw : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.plot` drawing
            the training loss, e.g. ``{"color": "black"}``.

        validation_loss_kw : dict, default=None
            Keyword arguments for the validation loss line.

        validation_score_kw : dict, default=None
            Keyword arguments for the validation score line.

        Returns
        -------
        display : TrainingCurveDisplay
            Object that stores the computed values.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If the estimator records no loss curve.
        """
        _import_pyplot(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if isinstance(estimator, Pipeline):
            estimator = estimator[-1]
            check_is_fitted(estimator)
        loss_curve = getattr(estimator, "loss_curve_", None)
        if loss_curve is None:
            raise ValueError(
                f"{estimator.__class__.__name__} has no loss curve to plot: "
                "it has no loss_curve_ attribute after fitting."
            )
        display = cls(
            loss_curve=loss_curve,
            validation_scores=_validation_history(estimator, "validation_scores_"),
            validation_loss_curve=_validation_history(
                estimator, "validation_loss_curve_"
            ),
            estimator_name=estimator.__class__.__name__ if name is None else name,
            xlabel=(
                "Iteration"
                if getattr(estimator, "solver", None) == "lbfgs"
                else "Epoch"
            ),
            score_name="R²" if is_regressor(estimator) else "accuracy",
        )
        return display.plot(
            ax=ax,
            loss_kw=loss_kw,
            validation_loss_kw=validation_loss_kw,
            validation_score_kw=validation_score_kw,
        )
