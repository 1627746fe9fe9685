"""eitest: ability emotional-intelligence tests for language models, compared with human norms."""

__version__ = "0.1.0"

__all__ = ["__version__"]
