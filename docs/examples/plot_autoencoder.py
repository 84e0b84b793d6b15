"""
An autoencoder: a 2-unit code of the digits
===========================================

A :class:`~sklearn_twolayer.TwoLayerRegressor` fitted with its input as its
target, ``fit(X, X)``, is an autoencoder: the hidden layer must squeeze each
image into ``n_hidden`` numbers from which the output layer rebuilds it.
With two hidden units, ``transform`` gives a code of two numbers per image,
which can be drawn.
"""

# %%
# Fit the autoencoder
# -------------------
#
# The 8x8 digit images have 64 pixels in [0, 16]; scaled to [0, 1], they
# are both the input and the target. The ``tanh`` hidden layer is the
# encoder, the linear output layer the decoder.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from sklearn_twolayer import TwoLayerRegressor

X, y = load_digits(return_X_y=True)
X = X / 16

autoencoder = TwoLayerRegressor(
    n_hidden=2,
    activation="tanh",
    learning_rate_init=0.01,
    max_iter=300,
    random_state=0,
)
autoencoder.fit(X, X)

codes = autoencoder.transform(X)
print("codes:", codes.shape, "feature names:", autoencoder.get_feature_names_out())

# %%
# The codes
# ---------
#
# Each image becomes one point; the colours are the digits' labels, which
# the autoencoder never saw. Beside it, the two leading principal
# components: the best *linear* 2-number code.

pca = PCA(n_components=2).fit(X)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, points, title in (
    (axes[0], codes, "Autoencoder code (transform)"),
    (axes[1], pca.transform(X), "Two principal components"),
):
    scatter = ax.scatter(points[:, 0], points[:, 1], c=y, cmap="tab10", s=6)
    ax.set_title(title)
fig.colorbar(scatter, ax=axes, label="digit")
plt.show()

# %%
# Reconstructions
# ---------------
#
# ``predict`` decodes the codes: the output layer applied to the hidden
# activations. Two numbers keep the rough shape of a digit, not its
# details. The decoder is linear, so every reconstruction lies in a plane
# of the 64-pixel space, and no such plane fits the images better than
# the two principal components': their error is the floor the
# autoencoder's approaches. What the hidden layer adds is the encoder, a
# non-linear and bounded map to that plane.

reconstructed = autoencoder.predict(X)
error = np.mean((reconstructed - X) ** 2)
pca_error = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
print(
    f"mean squared reconstruction error: autoencoder {error:.4f}, PCA {pca_error:.4f}"
)

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for column, i in enumerate(np.flatnonzero(np.diff(y, prepend=-1) != 0)[:8]):
    axes[0, column].imshow(X[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[1, column].imshow(
        reconstructed[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1
    )
for ax in axes.ravel():
    ax.set_axis_off()
axes[0, 0].set_title("input", fontsize=9, loc="left")
axes[1, 0].set_title("rebuilt from 2 numbers", fontsize=9, loc="left")
plt.show()
