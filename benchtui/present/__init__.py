"""Textual-free presentation shared by the app, the headless display and the commands."""
