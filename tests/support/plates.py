"""Plates by the SPEC (section 5): the province list, and plates that are and are not
well formed."""

SPEC_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

VALID_PLATES = [
    # ordinary P L S{5}
    "京A12345",
    "桂AHJ8Z9",
    "粤B0000Z",
    "琼Z9ABCD",
    "桂O12345",  # L is [A-HJ-Z]: O is a valid authority letter
    # P L S{4}[挂学警港澳]
    "桂A1234挂",
    "川A12K4学",
    "京A0001警",
    "粤Z1234港",
    "粤ZAB12澳",
    # small new energy P L [A-HJK] S \d{4}
    "粤BD12345",
    "浙AFA1234",
    "沪KK01234",
    # large new energy P L \d{5}[A-HJK]
    "苏A12345D",
    "鲁B00000K",
    # consulate P L \d{4}领
    "沪A1234领",
    # emergency P L? ([XS]\d{4}|\d{5})应急
    "京A12345应急",
    "京12345应急",
    "京X1234应急",
    "京S1234应急",
    "川AX1234应急",
    "藏AS0000应急",
]

INVALID_PLATES = [
    "",
    "桂",
    "桂A",
    "桂I12345",  # L excludes I
    "桂AI2345",  # S excludes I (L does not exclude O)
    "桂A12O45",  # and O
    "桂AI12345",  # small new energy: third letter excludes I
    "桂A12345I",  # large new energy: last letter excludes I
    "桂A12345L",  # ... and anything after K
    "桂A1234",  # too short
    "桂A123456",  # too long for ordinary, not new energy
    "桂A1234567",
    "桂A12345挂",  # 挂 takes S{4}
    "桂A123挂",
    "沪A123B领",  # consulate: digits only
    "沪A12345领",
    "京AY1234应急",  # emergency: X or S only
    "京A1234应急",
    "京A123456应急",
    "京A12345急",
    "XA12345",  # no province
    "台A12345",  # not one of the 31
    "港A12345",
    "桂a12345",  # not normal form
    "桂A 12345",
    "桂A-12345",
    "桂Ａ12345",
    "桂A１２３４５",  # full-width digits are not ASCII digits
    "桂A1234٣",  # Arabic-Indic digit
    "桂AD١٢٣٤٥",
    "苏A١٢٣٤٥D",
    "沪A١٢٣٤领",
    "京X١٢٣٤应急",
    "桂A12345\n",
    "桂桂12345",
    "A桂12345",
]
