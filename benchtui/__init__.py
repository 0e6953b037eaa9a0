"""benchtui: run the same coding task on many AI models and compare them."""

__version__ = "0.1.0"
