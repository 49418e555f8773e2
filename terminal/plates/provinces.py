"""Which province characters a doubtful read may stand for.

A plate reader misreads the province character more than any other: it is the one
Chinese character on the plate, small, often dirty, and several of the 31 share a
radical (沪津湘浙渝 all start with 氵). A wrong guess there names another car, so
when the character is unreadable or doubtful the reader offers the terminal's home
province and its neighbours (the cars a roadside checkpoint mostly sees) instead of
guessing, and the lookup offers the look-alikes of a province that has no record.
"""

from __future__ import annotations

from keys.fields import PROVINCES

_BORDERS = {
    "京": "津冀",
    "津": "京冀",
    "沪": "苏浙",
    "渝": "川贵湘鄂陕",
    "冀": "京津晋蒙辽鲁豫",
    "豫": "冀晋陕鄂皖鲁",
    "云": "川贵桂藏",
    "辽": "吉蒙冀",
    "黑": "吉蒙",
    "湘": "鄂渝贵桂粤赣",
    "皖": "苏浙赣鄂豫鲁",
    "鲁": "冀豫皖苏",
    "新": "藏青甘蒙",
    "苏": "鲁皖浙沪",
    "浙": "沪苏皖赣闽",
    "赣": "浙皖鄂湘粤闽",
    "鄂": "豫皖赣湘渝陕",
    "桂": "云贵湘粤",
    "甘": "新青川陕宁蒙",
    "晋": "冀豫陕蒙",
    "蒙": "黑吉辽冀晋陕宁甘新",
    "陕": "晋蒙宁甘川渝鄂豫",
    "吉": "黑辽蒙",
    "闽": "浙赣粤",
    "贵": "川渝湘桂云",
    "粤": "闽赣湘桂琼",
    "青": "新藏川甘",
    "藏": "新青川云",
    "川": "青甘陕渝贵云藏",
    "宁": "蒙陕甘",
    "琼": "粤",
}
"""Land borders (Hainan: the strait to Guangdong), as one writes them; symmetric."""

LOOK_ALIKE_GROUPS = ("沪津湘浙渝", "苏蒙藏", "贵青", "鄂陕", "京宁", "吉甘", "皖晋")
"""Province characters a reader or an officer takes for one another (shared radicals
and outlines); each group's members are look-alikes of each other."""

MISREADS = {
    "四": "川",
    "州": "川",
    "晥": "皖",
    "翼": "冀",
    "奥": "粤",
    "挂": "桂",
    "江": "辽",
    "亰": "京",
    "闵": "闽",
    "兽": "鲁",
    "郭": "鄂",
    "峡": "陕",
    "亲": "新",
    "费": "贵",
    "责": "贵",
    "廿": "甘",
    "普": "晋",
    "字": "宁",
    "莎": "苏",
    "像": "豫",
}
"""Characters outside the 31 that readers return for a province character."""


def neighbours(province: str) -> str:
    """The provinces bordering ``province`` (empty for a character not among the 31)."""
    return _BORDERS.get(province, "")


def look_alikes(province: str) -> str:
    """The other province characters that look like ``province``."""
    return "".join(
        c for group in LOOK_ALIKE_GROUPS if province in group for c in group if c != province
    )


def doubtful_province(read: str, home: str | None) -> list[str]:
    """The provinces to offer for a province character read as ``read`` (possibly
    empty or not one of the 31), most likely first: what the misread stands for,
    then the home province and its neighbours, then the look-alikes of all those.
    Without a home province only the misread and its look-alikes are offered."""
    first = MISREADS.get(read, read if read in PROVINCES else "")
    ordered = [first] if first else []
    if home and home in PROVINCES:
        ordered += [home, *neighbours(home)]
    for p in list(ordered):
        ordered += look_alikes(p)
    return list(dict.fromkeys(p for p in ordered if p))
