"""`python -m bundle_builder`: build the Lambda bundle and print its path, hash and size."""

import sys

from bundle_builder.builder import main

sys.exit(main())
