"""``python -m app``: the dashboard's command line (``app.cli``).

The import sits under the main guard, as multiprocessing asks: a process
started with ``spawn`` re-imports this module as ``__mp_main__``, and the
echo server is started that way — it must not import Flask just to start.
"""

import sys

if __name__ == "__main__":
    from app.cli import main

    sys.exit(main())
