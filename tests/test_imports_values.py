"""The ledger reader's pure rules (#28): dates as offices type them, units by name, short name,
alias or 乡镇 + 村名 (and two villages of one name told apart), and files that unpack to far
more than a ledger (a zip bomb) refused before they are read."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from reception.errors import InvalidInput
from reception.imports import values
from reception.imports.reading import Workbook


@pytest.mark.parametrize(
    "typed",
    [
        "2020.3.5",
        "2020/3/5",
        "2020-03-05",
        "2020年3月5日",
        "20200305",
        43895,
        20200305,
        "2020年3月5",
    ],
)
def test_a_day_in_the_forms_offices_type(typed: object) -> None:
    assert values.day(typed) == date(2020, 3, 5)


@pytest.mark.parametrize("typed", ["2020.2.30", "三月五日", "2020-13-01"])
def test_what_is_no_day_says_why(typed: str) -> None:
    with pytest.raises(values.Unreadable, match="日期"):
        values.day(typed)


UNITS = values.UnitNames(
    {
        1: "下仓镇",
        2: "邦均镇",
        3: "曹官庄村",
        4: "曹官庄村",
        5: "下仓镇",
        6: "区住建委",
        7: "区人社局",
    },
    parents={3: "下仓镇", 4: "邦均镇", 5: "下仓镇"},
    villages=frozenset({3, 4, 5}),
)


def test_units_by_name_alias_short_name_and_township_plus_village() -> None:
    # A village named like its township does not hide the township.
    assert UNITS.find("下仓镇") == 1
    assert UNITS.find("住房和城乡建设委员会") == 6 and UNITS.find("蓟州区住建委") == 6
    assert UNITS.find("人力资源和社会保障局") == 7
    assert UNITS.find("下仓镇曹官庄村") == 3 and UNITS.find("邦均镇 曹官庄村") == 4
    with pytest.raises(values.Unreadable, match="下仓镇曹官庄村、邦均镇曹官庄村"):
        UNITS.find("曹官庄村")
    with pytest.raises(values.Unreadable, match="不是本单位范围内的单位"):
        UNITS.find("火星镇")


def test_a_file_that_unpacks_to_far_more_than_a_ledger_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/workbook.xml", "<workbook/>")
        bomb.writestr("xl/worksheets/sheet1.xml", " " * (64 * 1024 * 1024))
    with pytest.raises(InvalidInput, match="解压后过大"):
        Workbook(buffer.getvalue())
