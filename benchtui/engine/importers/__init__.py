"""Importers: suites written for other tools, converted into ordinary benchtui tasks (``benchtui tasks import``)."""
