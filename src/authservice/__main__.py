import sys

from authservice.cli import main

sys.exit(main())
