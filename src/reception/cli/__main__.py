"""`python -m reception.cli …`, as the `reception` command."""

from reception.cli import main

main()
