"""`python -m tools.deploy_permissions`: the old name of `python -m bootstrap.deploy_grants`, kept for CI scripts."""

import sys

from bootstrap.deploy_grants.generate import main

if __name__ == "__main__":
    sys.exit(main())
