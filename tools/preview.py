"""`python -m tools.preview`: the old name of `python -m offline_preview`, kept for scripts that call it."""

import sys

from offline_preview.cli import main

if __name__ == "__main__":
    sys.exit(main())
