"""`python -m access_report`: the "who accessed this secret" report (access_report.report)."""

import sys

from access_report.report import main

sys.exit(main())
