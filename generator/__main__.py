"""`python -m stackswap.generator`: the render command, which says what it wrote through the
orchestrator's output (orchestrator/commands/render.py); the generator itself prints nothing."""

import sys

from stackswap.orchestrator.commands.render import main

sys.exit(main())
