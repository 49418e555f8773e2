"""The plate grammar over OCR text, the province tables and the confusion lookup (issue 16).

Pure Python: no OCR here. The texts are what the reader really returned on the
plates-dev photos (``浙GROL16``, ``川IA09X20``, ``四R35779``, ...).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.fields import PROVINCES, is_valid_plate
from terminal.plates.confusion import confusable, similar_plates, variants
from terminal.plates.grammar import guesses
from terminal.plates.provinces import (
    LOOK_ALIKE_GROUPS,
    doubtful_province,
    look_alikes,
    neighbours,
)
from tests.support import World


def best(text: str, home: str | None = None) -> str | None:
    found = guesses(text, home)
    return found[0].plate if found else None


@pytest.mark.parametrize(
    ("read", "plate"),
    [
        ("桂A12345", "桂A12345"),  # as read
        ("桂a·12345", "桂A12345"),  # SPEC 5 normal form first
        ("粤B:2757B", "粤B2757B"),  # the separator read as a colon
        ("浙GROL16", "浙GR0L16"),  # O is never in a serial: 0
        ("鄂BA1O3N", "鄂BA103N"),
        ("川IA09X20", "川A09X20"),  # the dot read as I, dropped
        ("粤8B1234", "粤BB1234"),  # the authority letter is a letter: 8 is B
        ("粤0A1234", "粤DA1234"),  # ... and 0 is D
        ("粤AD123S5", "粤AD12355"),  # small new energy: the last four are digits
        ("粤A1234SD", "粤A12345D"),  # large new energy: five digits, then a letter
        ("粤AD12345", "粤AD12345"),  # eight characters: not cut to an ordinary seven
        ("粤B1234挂", "粤B1234挂"),  # trailer
        ("京A0001警", "京A0001警"),  # police
    ],
)
def test_fix_ups_by_position(read: str, plate: str) -> None:
    assert best(read) == plate


def test_a_plate_read_as_is_costs_nothing_and_a_repair_costs() -> None:
    assert guesses("桂A12345")[0].cost == 0
    assert guesses("浙GROL16")[0].cost > 0


def test_serial_letters_and_digits_both_allowed_are_kept_as_read() -> None:
    """An ordinary serial admits B and 8 alike: the read is first, its look-alike after."""
    plates = [g.plate for g in guesses("川AM118G")]
    assert plates[0] == "川AM118G"
    assert "川AM1186" in plates


@pytest.mark.parametrize("junk", ["2015/05/11", "西门出口", "0000/00001", "18:23:04", "", "AEL"])
def test_text_that_is_no_plate_gives_none(junk: str) -> None:
    assert guesses(junk, home="桂") == []


def test_misread_province_is_mapped_and_marked_unread() -> None:
    first = guesses("四R35779")[0]
    assert (first.plate, first.province_read) == ("川R35779", False)


def test_missing_province_is_offered_from_home_and_neighbours_not_guessed() -> None:
    assert guesses("A82M83") == []  # no home province: nothing to offer
    offered = [g.plate[0] for g in guesses("A82M83", home="川")]
    assert offered[0] == "川"
    assert set(neighbours("川")) <= set(offered)
    assert all(not g.province_read for g in guesses("A82M83", home="川"))


def test_read_province_comes_before_its_look_alikes() -> None:
    found = guesses("浙GR0L16")
    assert found[0].plate == "浙GR0L16"
    assert "湘GR0L16" in [g.plate for g in found]
    assert all(g.cost > 0 for g in found[1:])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABDGIOQSZ桂川四·: " + PROVINCES[:6], max_size=14))
def test_every_guess_is_a_valid_plate(text: str) -> None:
    found = guesses(text, home="桂")
    assert all(is_valid_plate(g.plate) for g in found)
    assert len({g.plate for g in found}) == len(found)
    assert [g.cost for g in found] == sorted(g.cost for g in found)


def test_neighbours_cover_the_31_and_are_mutual() -> None:
    for p in PROVINCES:
        assert neighbours(p), p
        for n in neighbours(p):
            assert n in PROVINCES and p in neighbours(n), (p, n)
    assert neighbours("X") == ""


def test_look_alikes_are_provinces_and_mutual() -> None:
    assert all(c in PROVINCES for group in LOOK_ALIKE_GROUPS for c in group)
    for p in PROVINCES:
        for other in look_alikes(p):
            assert p in look_alikes(other)
    assert "湘" in look_alikes("浙")


def test_doubtful_province_order() -> None:
    offered = doubtful_province("四", "桂")
    assert offered[:2] == ["川", "桂"]
    assert len(offered) == len(set(offered))


def test_variants_one_confusable_character_away() -> None:
    found = variants("粤B8Z345")
    assert {"粤BBZ345", "粤B82345", "粤B8Z34S"} <= set(found)
    assert "粤B8Z345" not in found
    assert all(is_valid_plate(p) for p in found)
    assert "浙GR0L16" in variants("湘GR0L16")  # look-alike provinces
    assert confusable("桂A12345", "桂A1Z345") and confusable("桂A1Z345", "桂A12345")
    assert not confusable("桂A12345", "桂A12399")


def test_similar_plates_in_the_cache(world: World) -> None:
    """A lookup with no record is offered the cached plates one misread away."""
    from cache.store import Store
    from terminal.config import Config

    store = Store.open(world.data_dir)
    feeds = Config.load(world.data_dir).feeds
    try:
        assert similar_plates(store, feeds, "桂A1Z345") == ["桂A12345"]
        assert similar_plates(store, feeds, "桂B8B888") == ["桂B88888"]
        assert similar_plates(store, feeds, "桂A000D1") == ["桂A00001"]
        assert similar_plates(store, feeds, "桂A77777") == []
        assert similar_plates(store, (), "桂A1Z345") == []
    finally:
        store.close()
