"""Parameter updates on the flat vector of all weights and biases."""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf

from _blocks cimport FLAT_BLOCK, n_blocks


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
    ``momentum=0`` this is seed 000 eqs. 28-29.
    """
    cdef Py_ssize_t n = params.shape[0]
    cdef Py_ssize_t block, i
    cdef floating lr = <floating> learning_rate
    cdef floating mu = <floating> momentum
    if grads.shape[0] != n or velocity.shape[0] != n:
        raise ValueError("sgd_update: params, grads and velocity differ in size")
    with nogil:
        for block in prange(n_blocks(n, FLAT_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            for i in range(block * FLAT_BLOCK, min(n, (block + 1) * FLAT_BLOCK)):
                velocity[i] = mu * velocity[i] - lr * grads[i]
                if nesterov:
                    params[i] += mu * velocity[i] - lr * grads[i]
                else:
                    params[i] += velocity[i]


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
    cdef Py_ssize_t block, i
    cdef floating lr = <floating> learning_rate
    cdef floating b1 = <floating> beta_1
    cdef floating b2 = <floating> beta_2
    cdef floating eps = <floating> epsilon
    cdef floating root
    if (grads.shape[0] != n or first_moment.shape[0] != n
            or second_moment.shape[0] != n):
        raise ValueError("adam_update: params, grads and moments differ in size")
    with nogil:
        for block in prange(n_blocks(n, FLAT_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            for i in range(block * FLAT_BLOCK, min(n, (block + 1) * FLAT_BLOCK)):
                first_moment[i] = b1 * first_moment[i] + (1 - b1) * grads[i]
                second_moment[i] = (b2 * second_moment[i]
                                    + (1 - b2) * (grads[i] * grads[i]))
                if floating is float:
                    root = sqrtf(second_moment[i])
                else:
                    root = sqrt(second_moment[i])
                params[i] += -lr * first_moment[i] / (root + eps)
