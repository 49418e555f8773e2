"""``central issue``: sign a vehicle's certificate (SPEC section 2) from the registry.

The four issuing situations set the validity the certificate carries:

1. after registration or transfer: the registry's current validity;
2. exempt vehicles applying online (免检): the next cycle, only for a cycle that may
   be renewed without a station inspection;
3. after passing inspection: the next cycle after the current one (or after this
   month, for an overdue vehicle), and an overdue mark ``Q`` is cleared;
4. reissue for a lost paper mark: the registry's current validity.

2 and 3 update the registry in the same transaction that records the certificate,
so the next publication carries the new validity. A vehicle with an alert status
gets no certificate. The QR text is written as a PNG (alphanumeric mode, error
correction M or higher) and as a printable page for the owner (打印出示).
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from base.private import private_dir, write_private
from central.errors import InputError
from central.inspection import cycle_is_exempt, validity_after
from central.registry import Registry, RegistryVehicle
from feeds.model import month_index, month_text
from keys.certificate import Certificate, issue_certificate
from keys.fields import CST, is_plate_type, is_valid_plate, month_of, normalize_plate
from keys.keypair import KeyPair
from keys.reasons import ALERT_LETTERS

BASES = {
    1: "注册登记或转移登记 registration or transfer",
    2: "免检申领 exempt issue",
    3: "检验合格 passed inspection",
    4: "补领 reissue",
}
SERIAL_BYTES = 12
QR_SCALE = 6


@dataclass(frozen=True)
class Issued:
    text: str
    certificate: Certificate
    png: Path
    page: Path

    def to_json(self) -> dict[str, object]:
        c = self.certificate
        return {
            "text": self.text,
            "plate": c.plate,
            "plate_type": c.plate_type,
            "valid_through": c.valid_through,
            "basis": c.basis,
            "serial": c.serial.hex(),
            "png": str(self.png),
            "page": str(self.page),
        }


def issue(
    registry: Registry,
    plate: str,
    plate_type: str | None,
    basis: int,
    key: KeyPair,
    now: int,
    out_dir: Path,
    issuer: str | None = None,
) -> Issued:
    """Sign, record and render a certificate; ``InputError`` when it may not be issued."""
    if basis not in BASES:
        raise InputError(f"basis must be one of 1, 2, 3, 4, not {basis}")
    vehicle = _vehicle(registry, plate, plate_type)
    with registry.transaction():
        valid_through, status = _validity(vehicle, basis, now)
        if (valid_through, status) != (vehicle.valid_through, vehicle.status):
            registry.set_validity(vehicle, valid_through, status)
        cert = Certificate(
            issuer=issuer or f"{vehicle.plate[:2]}车管所",
            issued_at=now,
            serial=os.urandom(SERIAL_BYTES),
            plate=vehicle.plate,
            plate_type=vehicle.plate_type,
            valid_through=valid_through,
            vehicle_type=vehicle.vehicle_type,
            basis=basis,
        )
        text = issue_certificate(cert, key.signing_key)
        registry.record_certificate(cert.serial, vehicle, valid_through, basis, now, key.kid)
        png, page = render(text, cert, out_dir)
    return Issued(text, cert, png, page)


def _vehicle(registry: Registry, plate: str, plate_type: str | None) -> RegistryVehicle:
    normal = normalize_plate(plate)
    if not is_valid_plate(normal):
        raise InputError(f"{plate!r} is not a valid plate")
    if plate_type is not None and not is_plate_type(plate_type):
        raise InputError(f"plate type {plate_type!r} is not two digits")
    found = registry.vehicles(normal, plate_type)
    if not found:
        kind = f" type {plate_type}" if plate_type else ""
        raise InputError(f"vehicle {normal}{kind} is not in the registry")
    if len(found) > 1:
        types = ", ".join(v.plate_type for v in found)
        raise InputError(f"{normal} is registered with several plate types ({types}): give --type")
    vehicle = found[0]
    alerts = [letter for letter in vehicle.status if letter in ALERT_LETTERS]
    if alerts:
        raise InputError(
            f"vehicle {normal} type {vehicle.plate_type} has status {vehicle.status}"
            f" ({''.join(alerts)} is an alert): no certificate is issued"
        )
    return vehicle


def _validity(vehicle: RegistryVehicle, basis: int, now: int) -> tuple[str, str]:
    """The certificate's valid_through and the vehicle's status after issuing."""
    name = f"vehicle {vehicle.plate} type {vehicle.plate_type}"
    if basis in (1, 4):
        if vehicle.valid_through is None:
            raise InputError(f"{name} has no inspection validity in the registry")
        return vehicle.valid_through, vehicle.status
    if vehicle.registered is None:
        raise InputError(f"{name} has no registration month in the registry")
    operating = bool(vehicle.operating)
    if basis == 2 and not cycle_is_exempt(
        vehicle.registered, vehicle.valid_through, vehicle.vehicle_type, operating
    ):
        raise InputError(f"{name} is not exempt from station inspection this cycle")
    last_month = month_text(month_index(month_of(now)) - 1)
    current = max(vehicle.valid_through or last_month, last_month)
    valid_through = validity_after(vehicle.registered, vehicle.vehicle_type, operating, current)
    status = vehicle.status.replace("Q", "") or "A"
    return valid_through, status


def render(text: str, cert: Certificate, out_dir: Path) -> tuple[Path, Path]:
    """The QR code as a PNG, and a printable page showing it with the claims."""
    import segno  # only the issuing command draws codes

    # A vehicle's certificate is its owner's: 0700/0600 until it is handed over.
    private_dir(out_dir, named=True)
    stem = f"{cert.plate}-{cert.plate_type}-{cert.serial.hex()}"
    png = out_dir / f"{stem}.png"
    buffer = io.BytesIO()
    segno.make_qr(text, mode="alphanumeric", error="m").save(
        buffer, kind="png", scale=QR_SCALE, border=4
    )
    write_private(png, buffer.getvalue())
    page = out_dir / f"{stem}.html"
    html_page = _page(cert, base64.b64encode(buffer.getvalue()).decode())
    write_private(page, html_page.encode("utf-8"))
    return png, page


def _page(cert: Certificate, png_b64: str) -> str:
    issued = datetime.fromtimestamp(cert.issued_at, CST).strftime("%Y-%m-%d %H:%M")
    rows = [
        ("号牌号码", cert.plate),
        ("号牌种类", cert.plate_type),
        ("车辆类型", cert.vehicle_type or ""),
        ("检验有效期至", cert.valid_through),
        ("签发机关", cert.issuer),
        ("签发时间", issued),
        ("签发依据", BASES.get(cert.basis or 0, "")),
        ("凭证编号", cert.serial.hex()),
    ]
    cells = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>机动车检验标志电子凭证 {html.escape(cert.plate)}</title>
<style>
 body {{ font-family: sans-serif; margin: 2cm; }}
 h1 {{ font-size: 20pt; }}
 img {{ width: 8cm; height: 8cm; image-rendering: pixelated; }}
 th {{ text-align: left; padding-right: 1em; }}
 @media print {{ body {{ margin: 1cm; }} .hint {{ display: none; }} }}
</style></head><body>
<h1>机动车检验标志电子凭证</h1>
<p><img alt="QR" src="data:image/png;base64,{png_b64}"></p>
<table>
{cells}
</table>
<p>打印出示：请随车携带本页，或在交管12123中出示电子凭证。</p>
<p class="hint">Print this page (Ctrl+P) and keep it in the vehicle.</p>
</body></html>
"""
