"""``python -m csim``: the same as the ``csim`` command."""

import sys

from csim.cli import main

sys.exit(main())
