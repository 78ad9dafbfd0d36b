"""minicnn: a from-scratch deep-learning framework in NumPy (and CuPy) for learning backprop."""

from . import data, explain, functional, inspect, metrics, models, nn, optim, train, viz
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .backend import cuda_available, float16, float32, float64, int32, int64, manual_seed, uint8
from .checkpoint import load_checkpoint, save_checkpoint
from .creation import arange, full, ones, ones_like, rand, randn, zeros, zeros_like
from .functions import abs, cat, clip, exp, log, pad, sqrt, stack, tanh
from .gradcheck import GradcheckError, gradcheck
from .receptive_field import receptive_field
from .serialization import CheckpointError, load, save
from .summary import summary
from .tensor import Tensor, tensor
from .threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "Function", "GradcheckError", "Tensor", "load", "load_checkpoint", "optim",
    "save", "save_checkpoint", "abs", "arange", "cat", "clip",
    "cuda_available", "data", "enable_grad", "exp", "float16", "float32", "float64", "full",
    "functional", "gradcheck", "int32", "int64", "is_grad_enabled", "log", "manual_seed", "nn",
    "no_grad", "ones", "ones_like", "pad", "rand", "randn", "sqrt", "stack", "tanh", "tensor",
    "uint8", "zeros", "zeros_like",
    "get_num_threads", "set_num_threads", "models", "summary",
    "AnomalyError", "detect_anomaly", "inspect", "is_anomaly_enabled", "receptive_field", "viz",
    "metrics", "train", "explain",
]  # fmt: skip
