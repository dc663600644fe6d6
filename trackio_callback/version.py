"""The package version, its one source: pyproject.toml reads it here; the CLI, API, Space and cards show it."""

__version__ = "0.1.0"
