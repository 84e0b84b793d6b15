"""Parameter updates on the flat vector of all weights and biases."""

from cython cimport floating
from cython.parallel cimport prange

from _blocks cimport FLAT_BLOCK, n_blocks
from _updates cimport adam_step, sgd_step


def sgd_update(
    floating[::1] params,
    const floating[::1] grads,
    floating[::1] velocity,
    double learning_rate,
    double momentum,
    bint nesterov,
    int n_threads,
):
    """Gradient descent with (Nesterov) momentum, in place.

    ``velocity = momentum * velocity - learning_rate * grads`` and
    ``params += velocity`` (or, with Nesterov,
    ``params += momentum * velocity - learning_rate * grads``). With
    ``momentum=0`` this is plain gradient descent, eq. (20) of the
    documentation's algorithm page.
    """
    cdef Py_ssize_t n = params.shape[0]
    cdef Py_ssize_t block
    if grads.shape[0] != n or velocity.shape[0] != n:
        raise ValueError("sgd_update: params, grads and velocity differ in size")
    if n == 0:
        return
    with nogil:
        for block in prange(n_blocks(n, FLAT_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            sgd_step(&params[0], &grads[0], &velocity[0], block * FLAT_BLOCK,
                     min(n, (block + 1) * FLAT_BLOCK), <floating> learning_rate,
                     <floating> momentum, nesterov)


def adam_update(
    floating[::1] params,
    const floating[::1] grads,
    floating[::1] first_moment,
    floating[::1] second_moment,
    double learning_rate,
    double beta_1,
    double beta_2,
    double epsilon,
    int n_threads,
):
    """One Adam step, in place.

    ``learning_rate`` is the bias-corrected step
    ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``.
    """
    cdef Py_ssize_t n = params.shape[0]
    cdef Py_ssize_t block
    if (grads.shape[0] != n or first_moment.shape[0] != n
            or second_moment.shape[0] != n):
        raise ValueError("adam_update: params, grads and moments differ in size")
    if n == 0:
        return
    with nogil:
        for block in prange(n_blocks(n, FLAT_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            adam_step(&params[0], &grads[0], &first_moment[0],
                      &second_moment[0], block * FLAT_BLOCK,
                      min(n, (block + 1) * FLAT_BLOCK), <floating> learning_rate,
                      <floating> beta_1, <floating> beta_2, <floating> epsilon)
