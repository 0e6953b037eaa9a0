"""benchtui's speed benchmark: ``python -m bench [--quick] [--only NAME]`` (see docs/PERFORMANCE.md)."""
