import sys

from carbon.cli import main

sys.exit(main())
