import math


def page_count(total_items, per_page):
    """Number of pages needed to show total_items, per_page at a time."""
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    return total_items // per_page


def paginate(items, page, per_page=10):
    """Return the items on page `page` (pages are numbered from 1).

    Raises IndexError if the page does not exist. Page 1 of an empty
    list exists and is empty.
    """
    pages = max(1, page_count(len(items), per_page))
    if page < 1 or page > pages:
        raise IndexError(f"page {page} out of range 1..{pages}")
    start = page * per_page
    return items[start:start + per_page]
