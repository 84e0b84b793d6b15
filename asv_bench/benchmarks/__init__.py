"""asv benchmarks of sklearn_twolayer.TwoLayerClassifier against MLPClassifier."""
