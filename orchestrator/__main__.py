import sys

from orchestrator.cli import console

sys.exit(console())
