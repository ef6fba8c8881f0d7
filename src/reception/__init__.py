"""reception: reception days, field visits and package-case ownership for a petition office."""

__version__ = "0.1.0"
