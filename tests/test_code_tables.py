"""The code tables of the catalogue: plate types (GA 24.7) and vehicle types (GA 24.4)
named in both languages, and a code the tables lack shown as the code alone."""

from __future__ import annotations

import re

from terminal.strings import CODE_TABLES, EN, PLATE_TYPES, VEHICLE_TYPES, ZH, Catalogue


def test_both_languages_name_the_same_codes() -> None:
    for table in CODE_TABLES.values():
        assert set(table[ZH]) == set(table[EN])
        assert all(name.strip() for lang in (ZH, EN) for name in table[lang].values())


def test_codes_have_the_shape_of_their_standard() -> None:
    assert all(re.fullmatch("[0-9]{2}", code) for code in PLATE_TYPES[ZH])
    assert all(re.fullmatch("[A-Z][0-9][0-9A-Z]", code) for code in VEHICLE_TYPES[ZH])


def test_the_codes_an_officer_meets_most() -> None:
    zh, en = Catalogue(ZH), Catalogue(EN)
    assert zh.code("plate_type", "01") == "大型汽车号牌"
    assert zh.code("plate_type", "02") == "小型汽车号牌"
    assert zh.code("plate_type", "52") == "小型新能源汽车号牌"
    assert zh.code("plate_type", "51") == "大型新能源汽车号牌"
    assert en.code("plate_type", "02") == "small vehicle plate"
    assert zh.code("vehicle_type", "K33") == "小型轿车"
    assert zh.code("vehicle_type", "H11") == "重型普通货车"
    assert en.code("vehicle_type", "K33") == "small saloon car"


def test_the_catalogue_text_names_codes_by_table_key() -> None:
    zh = Catalogue(ZH)
    assert zh.text("vehicle_type.K33") == "小型轿车"
    assert zh.text("plate_type.02") == "小型汽车号牌"
    # unknown codes and tables come back as the key, so the card shows the code alone
    assert zh.code("plate_type", "77") is None
    assert zh.text("plate_type.77") == "plate_type.77"
    assert zh.text("colour.01") == "colour.01"
    assert zh.text("verdict.VALID") == "有效"
