import sys

from stackswap.generator.render import main

sys.exit(main())
