import sys

from papernet.cli import main

sys.exit(main())
