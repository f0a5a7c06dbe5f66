"""``python -m mcsim``: the same command line as the ``mcsim`` script."""

from mcsim.app.cli import main

raise SystemExit(main())
