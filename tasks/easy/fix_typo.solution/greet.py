def greet(name="world"):
    """Print a friendly greeting for name."""
    print(f"Hello, {name}!")
