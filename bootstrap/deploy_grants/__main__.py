"""`python -m bootstrap.deploy_grants`: write (or `--check`) bootstrap/permissions/<stack>.json."""

import sys

from bootstrap.deploy_grants.generate import main

sys.exit(main())
