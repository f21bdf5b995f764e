import sys

from kflow.cli.main import main

sys.exit(main())
