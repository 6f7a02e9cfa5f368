"""Entry point for ``python -m equality_core``."""

import sys

from equality_core.cli import main

sys.exit(main())
