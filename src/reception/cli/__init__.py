"""The `reception` command, one module per command group (each registers its commands on
the group `main`)."""

from reception.cli import (  # noqa: F401  (importing a module registers its commands)
    audit,
    backup,
    database,
    demo,
    documents,
    export,
    imports,
    keys,
    schedule,
    serve,
    users,
    worker,
)
from reception.cli.common import main

__all__ = ["main"]
