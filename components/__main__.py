"""Entry point of the component package: the Pulumi CLI runs `python <this directory> <engine address>`.

`pulumi package add <repository>.git/components` (or a local path to this directory) starts it to read the schema and
generate an SDK; a program in another language then constructs the components through it (see the README).
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Run as a directory, Python puts the directory itself first on sys.path, where `iam.py` or `grants.py` would be
# importable as top-level modules; the package's parent is the import root instead, so `components.*` resolves.
if sys.path and Path(sys.path[0]).resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

from components.package import host  # noqa: E402 - needs the import root fixed above

if __name__ == "__main__":
    host()
