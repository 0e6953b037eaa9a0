import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

GOOD = """date,region,product,amount
2024-03-01,north,widget,19.99
2024-03-01,south,gadget,5.00
2024-03-02,north,gadget,12.50
2024-03-02,east,widget,7.25
2024-03-03,south,widget,100
"""

WITH_BAD = """date,region,product,amount
2024-03-01,north,widget,10.00
2024-03-01,south,gadget,
2024-03-02,north,gadget,abc
2024-03-02,east,widget,2.5
"""


def run(tmp_path, content, *args):
    csv_file = tmp_path / "sales.csv"
    csv_file.write_text(content)
    return subprocess.run(
        [sys.executable, "-m", "salesreport.cli", str(csv_file), *args],
        cwd=HERE, capture_output=True, text=True, timeout=10,
    )


def test_plain_total_unchanged(tmp_path):
    result = run(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "TOTAL 144.74\n"


def test_group_by_region(tmp_path):
    result = run(tmp_path, GOOD, "--group-by", "region")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "east 7.25",
        "north 32.49",
        "south 105.00",
        "TOTAL 144.74",
    ]


def test_group_by_product(tmp_path):
    result = run(tmp_path, GOOD, "--group-by", "product")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["gadget 17.50", "widget 127.24", "TOTAL 144.74"]


def test_group_by_date(tmp_path):
    result = run(tmp_path, GOOD, "--group-by", "date")
    assert result.stdout.splitlines() == [
        "2024-03-01 24.99",
        "2024-03-02 19.75",
        "2024-03-03 100.00",
        "TOTAL 144.74",
    ]


@pytest.mark.parametrize("column", ["amount", "city"])
def test_bad_group_column_is_a_usage_error(tmp_path, column):
    result = run(tmp_path, GOOD, "--group-by", column)
    assert result.returncode == 2
    assert result.stdout == ""


def test_bad_rows_are_skipped_with_warning(tmp_path):
    result = run(tmp_path, WITH_BAD)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "TOTAL 12.50\n"
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert warnings == ["skipping line 3: bad amount", "skipping line 4: bad amount"]


def test_bad_rows_with_group_by(tmp_path):
    result = run(tmp_path, WITH_BAD, "--group-by", "region")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["east 2.50", "north 10.00", "TOTAL 12.50"]
