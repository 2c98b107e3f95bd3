import sys

from taskoverflow_operations.cli import main

sys.exit(main())
