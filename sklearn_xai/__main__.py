"""``python -m sklearn_xai`` runs the ``sklearn-xai`` command."""

import sys

from .cli import main

sys.exit(main())
