"""`python -m bot`: the same as the `ngo-bot` command."""

import sys

from bot.cli import main

sys.exit(main())
