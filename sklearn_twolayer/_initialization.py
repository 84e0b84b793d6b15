"""Initial weights of a two-layer network."""


def initialize_parameters(coefs, intercepts, init, activation, random_state):
    """Fill each layer's weights and biases in place, layer by layer.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        ``coefs[i]`` of shape (fan_in, fan_out), ``intercepts[i]`` of shape
        (fan_out,).
    init : {"glorot_uniform", "uniform"}
        ``"glorot_uniform"``: U(-b, b) with ``b = sqrt(f / (fan_in +
        fan_out))``, ``f = 2`` for logistic units and 6 otherwise, drawn in
        MLPClassifier's order, so the same ``random_state`` gives the same
        start. ``"uniform"``: U(-0.5, 0.5), eq. (26) of the algorithm page.
    activation : str
        The hidden activation (the Glorot bound depends on it).
    random_state : numpy.random.RandomState
    """
    for coef, intercept in zip(coefs, intercepts):
        fan_in, fan_out = coef.shape
        if init == "glorot_uniform":
            factor = 2.0 if activation == "logistic" else 6.0
            bound = (factor / (fan_in + fan_out)) ** 0.5
            coef[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept[...] = random_state.uniform(-bound, bound, fan_out)
        else:
            coef[...] = random_state.random_sample((fan_in, fan_out)) - 0.5
            intercept[...] = random_state.random_sample(fan_out) - 0.5
