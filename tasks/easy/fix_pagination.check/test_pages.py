import pytest

from pagination import page_count, paginate

ITEMS = list(range(25))


@pytest.mark.parametrize(
    "total, per_page, expected",
    [(25, 10, 3), (20, 10, 2), (21, 10, 3), (1, 10, 1), (0, 10, 0), (7, 1, 7), (3, 5, 1)],
)
def test_page_count(total, per_page, expected):
    assert page_count(total, per_page) == expected


def test_pages_are_numbered_from_one():
    assert paginate(ITEMS, 1, 10) == list(range(0, 10))
    assert paginate(ITEMS, 2, 10) == list(range(10, 20))


def test_last_partial_page():
    assert paginate(ITEMS, 3, 10) == [20, 21, 22, 23, 24]


def test_exact_fit_has_no_extra_page():
    with pytest.raises(IndexError):
        paginate(list(range(20)), 3, 10)


def test_default_page_size():
    assert paginate(ITEMS, 1) == list(range(10))


@pytest.mark.parametrize("page", [0, -1, 4, 100])
def test_missing_pages_raise(page):
    with pytest.raises(IndexError):
        paginate(ITEMS, page, 10)


def test_empty_list_has_one_empty_page():
    assert paginate([], 1, 10) == []
    with pytest.raises(IndexError):
        paginate([], 2, 10)


@pytest.mark.parametrize("per_page", [0, -5])
def test_bad_page_size(per_page):
    with pytest.raises(ValueError):
        page_count(10, per_page)
    with pytest.raises(ValueError):
        paginate(ITEMS, 1, per_page)
