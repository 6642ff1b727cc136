"""`python -m authservice`: the command line (admin/cli.py)."""

import sys

from authservice.admin.cli import main

sys.exit(main())
