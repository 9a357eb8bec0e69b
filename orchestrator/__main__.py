import sys

from stackswap.orchestrator.cli import console

sys.exit(console())
