"""The wire format of SPEC sections 1 to 3, in one place.

Every module that reads or writes a certificate, a trust list or a COSE object
takes its labels and limits from here, so the format is stated once.
"""

from typing import Final

# COSE_Sign1 (SPEC section 1)
COSE_SIGN1_TAG: Final = 18
HEADER_ALG: Final = 1
HEADER_KID: Final = 4
ALG_EDDSA: Final = -8
KID_SIZE: Final = 8
SIGNATURE_SIZE: Final = 64
PUBLIC_KEY_SIZE: Final = 32
SIG_CONTEXT: Final = "Signature1"

# Size limits, enforced before parsing.
CERTIFICATE_LIMIT: Final = 1024
SIGNED_LIST_LIMIT: Final = 1 << 20  # trust list and manifests
QR_TEXT_LIMIT: Final = 1500
UINT_LIMIT: Final = 1 << 63

# Certificate (SPEC section 2)
QR_PREFIX: Final = "VI1:"
CLAIM_ISS: Final = 1
CLAIM_IAT: Final = 6
CLAIM_CTI: Final = 7
CLAIM_PLATE: Final = -1
CLAIM_PLATE_TYPE: Final = -2
CLAIM_VEHICLE_TYPE: Final = -3
CLAIM_VALID_THROUGH: Final = -4
CLAIM_BASIS: Final = -5
SERIAL_MIN: Final = 8
SERIAL_MAX: Final = 16

# Trust list (SPEC section 3)
TL_VERSION: Final = 1
TL_ISSUED_AT: Final = 2
TL_EXPIRES_AT: Final = 3
TL_KEYS: Final = 4
KEY_KID: Final = 1
KEY_PUBLIC: Final = 2
KEY_ROLE: Final = 3
KEY_SCOPE: Final = 4
KEY_NOT_BEFORE: Final = 5
KEY_NOT_AFTER: Final = 6
KEY_REVOKED: Final = 7
KEY_COVERS: Final = 8  # SPEC 1.1: plate prefixes a feed key's full feeds may cover
ROLE_CERT: Final = "cert"
ROLE_FEED: Final = "feed"
SCOPE_ALL: Final = "*"

# Certificates may be issued a little ahead of the checking clock (SPEC 6.1 step 5).
CLOCK_SKEW: Final = 300
