"""`python -m nfvmon.cli`: the same as the `nfvmon` command (tests start conductors so)."""

import sys

from nfvmon.cli import main

sys.exit(main())
