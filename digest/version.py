"""The package version (its own module, so digest.cache can read it without the pipeline)."""

__version__ = "0.1.0"
