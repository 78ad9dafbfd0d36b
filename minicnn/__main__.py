"""``python -m minicnn``: the ``minicnn`` command line (see ``minicnn.cli``)."""

import sys

from .cli import main

sys.exit(main())
