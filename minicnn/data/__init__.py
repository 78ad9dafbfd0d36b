"""Data: datasets, splits, the DataLoader and transforms (see ``minicnn.data.transforms``).

Everything here runs on the host with NumPy; the DataLoader hands out minicnn Tensors.
"""

from . import transforms
from .cifar import CIFAR10
from .dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from .image_folder import ImageFolder
from .loader import DataLoader
from .mnist import MNIST
from .shapes import SyntheticShapes

__all__ = [
    "CIFAR10",
    "MNIST",
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "ImageFolder",
    "Subset",
    "SyntheticShapes",
    "TensorDataset",
    "random_split",
    "transforms",
]
