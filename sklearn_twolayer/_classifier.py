"""TwoLayerClassifier: what classification adds to the shared core — label
encoding, class weights, probabilities and the accuracy of early stopping."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if

from ._base import BaseTwoLayer, predicts
from ._docstrings import shared_docstring
from ._locks import one_fit_at_a_time
from ._messages import shown
from ._registry import CLASSIFIER_LOSSES
from ._targets import (
    checked_classes,
    classification_target_type,
    encode_labels,
    labels_from_output,
    output_activation_of,
    outputs_of_targets,
)


@shared_docstring("MLPClassifier")
class TwoLayerClassifier(ClassifierMixin, BaseTwoLayer):
    """Two-layer neural network classifier (one hidden layer).

    ``A1 = g(X @ W1 + b1)`` and ``A2 = softmax(A1 @ W2 + b2)`` for
    multiclass targets, or a logistic output unit for binary (and each label
    of multilabel) targets, trained by backpropagation and (minibatch)
    gradient descent, Adam or L-BFGS, as derived on the documentation's
    algorithm page. The numeric work runs
    in compiled OpenMP kernels that use every core OpenMP allows; limit them
    with ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` or
    ``OMP_NUM_THREADS``. ``transform`` gives the hidden activations ``A1``
    as features (e.g. for a pipeline's next step).

    With ``solver="sgd", momentum=0, batch_size="full", alpha=0,
    shuffle=False, init="uniform"`` it is plain batch gradient descent from
    ``U(-0.5, 0.5)`` weights, exactly as the algorithm page writes it.

    Parameters
    ----------
    {n_hidden}

    {hidden_layer_sizes}

    {activation}

    {solver}

    loss : {{classifier_losses}}, default="log_loss"
        ``"log_loss"``: cross-entropy, whose output delta is ``A2 - Y``.
        ``"squared_error"``: ``0.5 * ||A2 - Y||^2`` averaged over samples
        (eq. (8) of the algorithm page), back-propagated through the exact softmax
        Jacobian (eq. 14) or the logistic derivative.

    {alpha}

    {batch_size}

    {learning_rate}

    {learning_rate_init}

    {power_t}

    {max_iter}

    {shuffle}

    {random_state}

    {tol}

    {verbose}

    {warm_start}

    {momentum}

    {nesterovs_momentum}

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples (stratified unless
        the target is multilabel), or use the ``X_val``, ``y_val`` given to
        ``fit``; stop when their score (see ``scoring``) has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of the
        best epoch. sgd and adam only.

    {validation_fraction}

    {beta_1}

    {beta_2}

    {epsilon}

    {n_iter_no_change}

    {max_fun}

    {init}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, ``{label: weight}``, multiplying the sample
        weights; ``"balanced"`` is ``n_samples / (n_classes *
        np.bincount(y))``. Not for multilabel targets.

    scoring : str, callable or None, default=None
        The validation score early stopping follows (higher is better): None
        for the accuracy, ``"loss"`` for the negated validation loss (as in
        ``validation_loss_curve_``), or a scorer name (e.g.
        ``"neg_log_loss"``, ``"balanced_accuracy"``) or callable
        ``scorer(estimator, X, y)``, as in ``GridSearchCV``.

    {dropout}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    {n_features_in_}

    {feature_names_in_}

    {coefs_}

    {intercepts_}

    {n_layers_}

    n_outputs_ : int
        Number of output units: 1 for binary targets.

    {hidden_activation_}

    out_activation_ : str
        ``"softmax"`` (multiclass) or ``"logistic"`` (binary, multilabel).

    {n_iter_}

    {t_}

    {loss_}

    {best_loss_}

    {loss_curve_}

    {validation_scores_}

    {validation_loss_curve_}

    {best_validation_score_}

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Multi-layer perceptron classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_twolayer import TwoLayerClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TwoLayerClassifier(random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16)
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        **BaseTwoLayer._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFIER_LOSSES))],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        n_hidden=None,
        *,
        hidden_layer_sizes=None,
        activation="relu",
        solver="adam",
        loss="log_loss",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        init="glorot_uniform",
        class_weight=None,
        scoring=None,
        dropout=0.0,
    ):
        self.n_hidden = n_hidden
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.loss = loss
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.class_weight = class_weight
        self.scoring = scoring
        self.dropout = dropout

    @available_if(lambda est: est.solver in ("sgd", "adam"))
    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch over X and y, continuing from the current state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        y : array-like of shape (n_samples,) or (n_samples, n_labels)

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, as in ``fit``.

        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call (unless y
            is a multilabel indicator matrix); later calls may omit it or
            must pass the same classes.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._partial_fit_checks()
        if isinstance(self.class_weight, str):
            raise ValueError(
                f"class_weight={self.class_weight!r} is not supported by "
                "partial_fit: pass the weights as a dict, e.g. from "
                "sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) on a large enough sample of the targets."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _encode_targets(self, y, dtype, first_pass, incremental, classes):
        """Check the targets against the known classes (or set them) and
        encode them as the network's outputs; returns (y, Y)."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y_type = classification_target_type(y)
        if y_type == "multilabel-indicator":
            labels = np.arange(y.shape[1])
        else:
            labels = np.unique(y)

        if classes is not None:
            classes = checked_classes(classes)
        if not first_pass:
            if (
                incremental
                and classes is not None
                and not np.array_equal(classes, self.classes_)
            ):
                raise ValueError(
                    f"`classes={shown(classes)}` is not the same as on the "
                    f"first call to partial_fit, was: {shown(self.classes_)}."
                )
            if (y_type == "multilabel-indicator") != (
                self._y_type == "multilabel-indicator"
            ) or (
                y_type == "multilabel-indicator" and labels.shape != self.classes_.shape
            ):
                raise ValueError(
                    f"y is a {y_type} target, but the model was trained on a "
                    f"{self._y_type} target."
                )
            if incremental and not np.isin(labels, self.classes_).all():
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` "
                    f"has {self.classes_}. 'y' has {labels}."
                )
            if not incremental and (
                labels.shape != self.classes_.shape or np.any(labels != self.classes_)
            ):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes "
                    f"as in the previous call to fit. Previously got "
                    f"{self.classes_}, `y` has {labels}."
                )
        else:
            if incremental and y_type != "multilabel-indicator":
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to partial_fit."
                    )
                given = classes
                if not np.isin(labels, given).all():
                    raise ValueError(
                        f"`y` has classes not in `classes`. `classes` has "
                        f"{given}. 'y' has {labels}."
                    )
                labels = given
                y_type = "binary" if given.shape[0] <= 2 else "multiclass"
            self.classes_ = labels
            self._y_type = y_type
            self.out_activation_ = output_activation_of(y_type)
        Y = encode_labels(y, self._y_type, self.classes_, dtype)
        self.n_outputs_ = Y.shape[1]
        return y, Y

    def _encode_validation_targets(self, y_val, dtype):
        """Check the targets of a validation set against the classes;
        returns (y_val as scored, y_val as the network's outputs)."""
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        if self._y_type == "multilabel-indicator":
            if y_val.ndim != 2 or y_val.shape[1] != self.classes_.shape[0]:
                raise ValueError(
                    f"y_val must be an indicator matrix of {self.classes_.shape[0]} "
                    f"labels, as y; got shape {y_val.shape}."
                )
            Y_val = encode_labels(y_val, self._y_type, self.classes_, dtype)
            return Y_val.astype(int), Y_val
        unknown = np.setdiff1d(np.unique(y_val), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y_val has classes not in y: {unknown}. The classes are "
                f"{self.classes_}."
            )
        return y_val, encode_labels(y_val, self._y_type, self.classes_, dtype)

    def _sample_weight(self, sample_weight, X, y):
        """Per-sample weights, ``sample_weight`` times the weights of
        ``class_weight``, in the dtype of X; None when both are None."""
        if self.class_weight is None:
            return super()._sample_weight(sample_weight, X, y)
        if self._y_type == "multilabel-indicator":
            raise ValueError(
                "class_weight is not supported for multilabel targets; "
                "pass sample_weight instead."
            )
        weights = super()._sample_weight(
            np.ones(X.shape[0]) if sample_weight is None else sample_weight, X, y
        )
        # A new array: the caller's sample_weight is never written to.
        return weights * compute_sample_weight(self.class_weight, y).astype(X.dtype)

    def _loss_parameter(self):
        return 0.0

    def _constant_loss(self, Y, sample_weight):
        # The cross-entropy of predicting the class frequencies.
        if self.loss != "log_loss" or self._y_type == "multilabel-indicator":
            return None
        frequencies = np.average(Y, axis=0, weights=sample_weight)
        if self._y_type == "binary":
            frequencies = np.r_[frequencies, 1 - frequencies]
        frequencies = frequencies[frequencies > 0]
        return float(-(frequencies * np.log(frequencies)).sum())

    def _stratify(self, y):
        # Stratified, except for multilabel targets. Binary targets are
        # stratified as MLPClassifier stratifies them, by the indicator of
        # the second class (the same split as by y, and the same message
        # when a class is too rare).
        if self._y_type == "multilabel-indicator":
            return None
        if self._y_type == "binary" and self.classes_.shape[0] == 2:
            return (y == self.classes_[1]).reshape(-1, 1)
        return y

    def _validation_targets(self, y, Y, held_out):
        if y.ndim > 1:
            return Y[held_out].astype(int)
        return y[held_out]

    def _validation_score(self, y_val, output, w_val):
        return accuracy_score(
            y_val,
            labels_from_output(output, self._y_type, self.classes_),
            sample_weight=w_val,
        )

    def _outputs_of_targets(self):
        return outputs_of_targets(self.classes_, self._y_type)

    @predicts
    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_`` (for multilabel
            targets, each label's probability).
        """
        output = self._predict_output(X)
        if self._y_type == "binary":
            if self.classes_.shape[0] == 1:
                # Fitted on one class, as MLPClassifier may be: it is certain.
                return np.ones_like(output)
            return np.hstack([1 - output, output])
        if self._y_type == "multilabel-indicator":
            # A saturated logistic rounds to exactly 0 or 1; each label's
            # probability is kept strictly inside (0, 1), as for one class of
            # a multiclass model.
            eps = np.finfo(output.dtype).eps
            np.clip(output, eps, 1 - eps, out=output)
        return output

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))

    @predicts
    def predict(self, X):
        """Predict class labels (label indicators for multilabel targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        return labels_from_output(
            self._predict_output(X), self._y_type, self.classes_
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
