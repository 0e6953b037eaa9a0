"""Summaries of sales CSV files."""
