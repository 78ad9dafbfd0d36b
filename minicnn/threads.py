"""``set_num_threads``: how many threads the BLAS library behind NumPy's matrix products uses.

By default OpenBLAS (or MKL) starts one thread per core for every large matrix product. On a
machine whose cores are busy with other work (a laptop, a shared CI runner) those threads wait
for each other, and training can run several times slower than on one thread. PyTorch has
``torch.set_num_threads``; this is minicnn's, through threadpoolctl. The environment variable
``OPENBLAS_NUM_THREADS`` (or ``MKL_NUM_THREADS``), set before Python starts, does the same.
"""

from __future__ import annotations

from typing import Any

from .functional._args import positive_int

_limit: Any = None  # keeps the limit for the rest of the process


def set_num_threads(n: int) -> None:
    """Let the BLAS libraries loaded in this process use at most ``n`` threads (n >= 1)."""
    from threadpoolctl import ThreadpoolController

    global _limit
    n = positive_int("set_num_threads", "n", n)
    _limit = ThreadpoolController().limit(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads the BLAS libraries use (the largest, if several are loaded; 1 if
    none is)."""
    from threadpoolctl import ThreadpoolController

    libraries = ThreadpoolController().select(user_api="blas").info()
    return max((lib["num_threads"] for lib in libraries), default=1)
