import sys

from generator.render import main

sys.exit(main())
