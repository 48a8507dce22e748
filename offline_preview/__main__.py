"""`python -m offline_preview`: the offline preview's command line (offline_preview.cli)."""

import sys

from offline_preview.cli import main

sys.exit(main())
