from calc import divide


def mean(values):
    """Average of values."""
    total = 0
    for v in values:
        total += v
    return divide(total, len(values) - 1)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle]
