"""``python -m generators.validators train | evaluate``: the validator commands without ``mcsim``."""

import sys

from generators.validators.cli import main

sys.exit(main())
