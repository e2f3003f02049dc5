# PyInstaller's entry script for the `dgm-engine` onedir build.
import sys

from dgm.__main__ import main

sys.exit(main())
