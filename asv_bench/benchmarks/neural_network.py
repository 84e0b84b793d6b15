"""TwoLayerClassifier and MLPClassifier side by side."""

import itertools

from .common import ESTIMATORS, Benchmark, fit_quietly, make_estimator
from .datasets import DATASETS, load_data


class TwoLayerSuite(Benchmark):
    """Fit, predict and test accuracy of both estimators on both data sets."""

    param_names = ["estimator", "dataset"]
    params = (list(ESTIMATORS), list(DATASETS))

    def setup_cache(self):
        """Fit each (estimator, dataset) pair once for all processes."""
        fitted = {}
        for estimator, dataset in itertools.product(*self.params):
            X_train, _, y_train, _ = load_data(dataset)
            fitted[estimator, dataset] = fit_quietly(
                make_estimator(estimator), X_train, y_train
            )
        return fitted

    def setup(self, fitted, estimator, dataset):
        """Load the data and an unfitted and a fitted estimator."""
        self.X_train, self.X_test, self.y_train, self.y_test = load_data(dataset)
        self.estimator = make_estimator(estimator)
        self.fitted = fitted[estimator, dataset]

    def time_fit(self, fitted, estimator, dataset):
        """Wall time of ``fit`` on the training split."""
        fit_quietly(self.estimator, self.X_train, self.y_train)

    def peakmem_fit(self, fitted, estimator, dataset):
        """Peak resident memory of the process during ``fit``."""
        fit_quietly(self.estimator, self.X_train, self.y_train)

    def time_predict(self, fitted, estimator, dataset):
        """Wall time of ``predict_proba`` on the test split."""
        self.fitted.predict_proba(self.X_test)

    # Prediction takes milliseconds: let asv choose the calls per sample.
    time_predict.number = 0

    def track_test_accuracy(self, fitted, estimator, dataset):
        """Accuracy on the test split after ``MAX_ITER`` epochs."""
        return float(self.fitted.score(self.X_test, self.y_test))

    track_test_accuracy.unit = "accuracy"
