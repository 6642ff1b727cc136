"""`python -m sitebuild`: build.py's commands, inside a venv that already has what they need (the
harness starts the dev server so: `python -m sitebuild serve`)."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
