"""``python -m minicnn.assignment``: the same as ``minicnn assignment``."""

import sys

from .cli import main

sys.exit(main(prog="python -m minicnn.assignment"))
