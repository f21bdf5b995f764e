import sys

from kflow.cli.entry import main

sys.exit(main())
