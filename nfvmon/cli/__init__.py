"""The `nfvmon` command: a thin layer over the Python API, built on cliff (as the
`openstack` and `mistral` commands are), one module per command group.

Errors a user can fix print as one line `FILE: path.inside.file: what is wrong` and exit 2;
`validate` exits 1 for a workflow that is not acceptable; nothing prints a traceback unless
--debug asks for it.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    # oslo.service warns on import that eventlet is deprecated; nfvmon does not use eventlet.
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    from nfvmon.cli.app import NfvmonApp

    try:
        return NfvmonApp().run(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
