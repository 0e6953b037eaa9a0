def clamp(value, low, high):
    """Return value limited to the range low..high (inclusive).

    Raises ValueError if low is greater than high.
    """
    if low > high:
        raise ValueError("low must not be greater than high")
    return max(low, min(value, high))


def average(values):
    """Return the arithmetic mean of values, or 0.0 for no values."""
    values = list(values)
    if not values:
        return 0.0
    return sum(values) / len(values)
