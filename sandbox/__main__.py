import sys

from stackswap.sandbox.cli import main

sys.exit(main())
