# Optimizer steps on a contiguous range of the flat parameter vector, shared
# by the kernels exposed to Python (_optimizers) and the trainer (_trainer).

from cython cimport floating
from libc.math cimport sqrt, sqrtf


cdef inline void sgd_step(
    floating* params,
    const floating* grads,
    floating* velocity,
    Py_ssize_t start,
    Py_ssize_t stop,
    floating learning_rate,
    floating momentum,
    bint nesterov,
) noexcept nogil:
    """velocity = momentum * velocity - lr * grad; params += velocity, or,
    with Nesterov, params += momentum * velocity - lr * grad. With momentum=0
    this is plain gradient descent, eq. (20) of the algorithm page."""
    cdef Py_ssize_t i
    for i in range(start, stop):
        velocity[i] = momentum * velocity[i] - learning_rate * grads[i]
        if nesterov:
            params[i] += momentum * velocity[i] - learning_rate * grads[i]
        else:
            params[i] += velocity[i]


cdef inline void adam_step(
    floating* params,
    const floating* grads,
    floating* first_moment,
    floating* second_moment,
    Py_ssize_t start,
    Py_ssize_t stop,
    floating step_size,
    floating beta_1,
    floating beta_2,
    floating epsilon,
) noexcept nogil:
    """One Adam step; ``step_size`` carries the bias correction."""
    cdef Py_ssize_t i
    cdef floating root
    for i in range(start, stop):
        first_moment[i] = beta_1 * first_moment[i] + (1 - beta_1) * grads[i]
        second_moment[i] = (beta_2 * second_moment[i]
                            + (1 - beta_2) * (grads[i] * grads[i]))
        if floating is float:
            root = sqrtf(second_moment[i])
        else:
            root = sqrt(second_moment[i])
        params[i] += -step_size * first_moment[i] / (root + epsilon)
