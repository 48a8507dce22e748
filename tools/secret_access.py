"""`python -m tools.secret_access`: the old name of `python -m access_report`, kept for scripts that call it."""

import sys

from access_report.report import main

if __name__ == "__main__":
    sys.exit(main())
