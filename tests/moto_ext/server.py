"""Start moto's server with the project's test-only extensions.

moto lacks a few IAM operations provision relies on (storing a user's
permissions boundary, listing service-specific credentials, ...). Each file in
`patches/` adds one of them to moto's in-process IAM backend before the
server starts. The production code path is untouched: provision sends the
same requests it sends to AWS, and the extended server answers them the way
AWS documents.

Usage: python server.py -H 127.0.0.1 -p PORT   (same arguments as moto_server)
"""

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

for module in sorted(pkgutil.iter_modules([str(HERE / "patches")]), key=lambda m: m.name):
    importlib.import_module(f"patches.{module.name}")

from moto.server import main  # noqa: E402  (patches must load first)

if __name__ == "__main__":
    sys.exit(main())
