"""A small command-line to-do list."""
