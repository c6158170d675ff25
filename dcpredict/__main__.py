"""``python -m dcpredict``: the same as the ``dcpredict`` console script."""
import sys

from .cli import main

sys.exit(main())
