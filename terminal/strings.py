"""Every string a person reads, in zh_CN and English: the one catalogue.

Keys are stable identifiers (reason codes, error codes, labels); ``Catalogue.text``
formats them with named fields. A key missing from one language falls back to the
other, so a new message never shows as a bare key.
"""

from __future__ import annotations

import os
from typing import NamedTuple

ZH = "zh_CN"
EN = "en"

STATUS_NAMES = {
    ZH: {
        "A": "正常",
        "G": "违法未处理",
        "I": "事故未处理",
        "B": "转出",
        "D": "停驶",
        "H": "海关监管",
        "O": "锁定",
        "Q": "逾期未检验",
        "C": "被盗抢",
        "E": "注销",
        "J": "嫌疑车",
        "K": "查封",
        "L": "暂扣",
        "M": "强制注销",
        "N": "事故逃逸",
        "P": "达到报废标准",
    },
    EN: {
        "A": "normal",
        "G": "unresolved violations",
        "I": "unresolved accident",
        "B": "transferred out",
        "D": "laid up",
        "H": "customs supervision",
        "O": "locked",
        "Q": "inspection overdue",
        "C": "stolen or robbed",
        "E": "deregistered",
        "J": "suspect vehicle",
        "K": "sealed",
        "L": "detained",
        "M": "forcibly deregistered",
        "N": "hit and run",
        "P": "plate void, due for scrapping",
    },
}

MESSAGES: dict[str, dict[str, str]] = {
    ZH: {
        # verdicts
        "verdict.VALID": "有效",
        "verdict.CHECK": "核查",
        "verdict.INVALID": "无效",
        "verdict.ALERT": "告警",
        # reasons (SPEC section 6)
        "reason.FORMAT": "不是有效的检验标志电子凭证二维码",
        "reason.NO_TRUST_LIST": "终端尚无信任列表，无法验证签名，请先同步",
        "reason.TRUST_STALE": "信任列表已过期，请尽快同步",
        "reason.UNKNOWN_KEY": "签发密钥不在信任列表中",
        "reason.BAD_SIGNATURE": "签名无效，凭证可能被伪造或篡改",
        "reason.KEY_REVOKED": "签发密钥已被吊销",
        "reason.KEY_SCOPE": "签发密钥无权为该号牌签发",
        "reason.KEY_EXPIRED": "签发时间不在密钥有效期内",
        "reason.NOT_YET_VALID": "签发时间晚于当前时间",
        "reason.REVOKED": "该凭证已被注销",
        "reason.NOT_IN_CACHE": "本地缓存中无此车辆记录",
        "reason.CACHE_STALE": "车辆状态缓存已过期，请尽快同步",
        "reason.NOT_COVERED": "本地缓存不覆盖该号牌所属地区",
        "reason.EXPIRED": "检验有效期已过",
        "reason.SUPERSEDED": "凭证有效期已过，但车辆已重新检验",
        "reason.STATUS": "车辆状态：{name}（{letter}）",
        "reason.STATUS_UNKNOWN": "未知车辆状态（{letter}）",
        # errors (SPEC section 7)
        "error.BAD_PLATE": "号牌或号牌种类无效：{detail}",
        "error.NO_CODE_FOUND": "图片中未找到二维码：{detail}",
        "error.BAD_INPUT": "输入有误：{detail}",
        "error.NOT_INITIALISED": "数据目录未初始化，请先运行 vicheck init：{detail}",
        "error.INTERNAL": "意外错误：{detail}",
        # labels
        "severity.none": "正常",
        "severity.info": "提示",
        "severity.check": "核查",
        "severity.invalid": "无效",
        "severity.alert": "告警",
        "label.plate": "号牌",
        "label.valid_through": "检验有效期至",
        "label.compare": "请核对号牌与实车是否一致",
        "label.no_record": "无车辆记录",
        "label.issuer": "签发机关",
        "label.checked_at": "核查时间",
        "label.trust_list": "信任列表",
        "label.feed": "数据源",
        "sync.updated": "已更新",
        "sync.current": "已是最新",
        "sync.failed": "失败",
        "init.done": "已初始化 {data_dir}：服务器 {server}，数据源 {feeds}",
        # the terminal UI
        "ui.title": "机动车检验标志电子凭证核查",
        "ui.key.scan": "扫码",
        "ui.key.lookup": "查牌",
        "ui.key.history": "记录",
        "ui.key.sync": "同步",
        "ui.key.status": "状态",
        "ui.key.back": "返回",
        "ui.key.quit": "退出",
        "ui.scan.idle": "请将二维码对准摄像头，或使用扫描键",
        "ui.scan.reading": "正在识别……",
        "ui.scan.no_camera": "无摄像头：请使用扫描键或号牌查询（F2）",
        "ui.status.fresh": "数据更新于 {age} 前",
        "ui.status.stale": "数据已过期，请同步（F5）",
        "ui.status.never": "尚未同步，请同步（F5）",
        "ui.card.dismiss": "按任意键继续扫码",
        "ui.card.valid_through": "检验有效期至 {month}",
        "ui.card.no_validity": "无检验有效期记录",
        "ui.lookup.plate": "号牌号码",
        "ui.lookup.type": "号牌种类（可选，两位数字）",
        "ui.lookup.province": "省份简称：按数字键选择，或直接输入",
        "ui.lookup.invalid": "号牌格式不正确",
        "ui.lookup.valid": "号牌格式正确，按回车查询",
        "ui.history.empty": "本班次尚无核查记录",
        "ui.history.time": "时间",
        "ui.history.kind": "方式",
        "ui.history.code": "扫码",
        "ui.history.plate": "号牌",
        "ui.sync.title": "同步数据",
        "ui.sync.running": "正在同步……",
        "ui.sync.done": "同步完成",
        "ui.sync.failed": "同步失败：{error}",
        "ui.sync.offline": "离线：继续使用本地缓存（{age}）",
        "ui.sync.bytes": "{done} / {total}",
        "ui.sync.bytes_rate": "{done} / {total}，{rate}/秒，剩余{left}",
        "ui.status.title": "终端状态",
        "ui.status.server": "服务器",
        "ui.status.feed": "数据源 {feed}：版本 {version}，{age}前，{fresh}",
        "ui.status.feed_never": "数据源 {feed}：尚未同步",
        "ui.status.trust": "信任列表：版本 {version}，{age}前，{fresh}",
        "ui.status.trust_never": "信任列表：尚无",
        "ui.status.floor": "时钟下限：{floor}",
        "ui.status.clock_behind": "警告：设备时钟早于时钟下限，已按下限计时",
        "ui.status.camera": "摄像头：{camera}",
        "ui.status.language": "语言：{lang}",
        "ui.fresh": "有效",
        "ui.stale": "已过期",
        "ui.shift.title": "开班",
        "ui.shift.officer": "警号",
        "ui.shift.start": "同步并开始",
        "ui.shift.skip": "离线开始（跳过同步）",
        "ui.too_small": "屏幕太小：至少需要 40×20",
    },
    EN: {
        "verdict.VALID": "VALID",
        "verdict.CHECK": "CHECK",
        "verdict.INVALID": "INVALID",
        "verdict.ALERT": "ALERT",
        "reason.FORMAT": "not a vehicle inspection certificate code",
        "reason.NO_TRUST_LIST": "no trust list on this terminal yet: sync first",
        "reason.TRUST_STALE": "the trust list is out of date: sync soon",
        "reason.UNKNOWN_KEY": "signed by a key that is not in the trust list",
        "reason.BAD_SIGNATURE": "bad signature: forged or altered",
        "reason.KEY_REVOKED": "the signing key has been revoked",
        "reason.KEY_SCOPE": "the signing key may not issue for this plate",
        "reason.KEY_EXPIRED": "issued outside the signing key's validity",
        "reason.NOT_YET_VALID": "issued in the future",
        "reason.REVOKED": "this certificate has been revoked",
        "reason.NOT_IN_CACHE": "vehicle not found in the local cache",
        "reason.CACHE_STALE": "vehicle status cache is out of date: sync soon",
        "reason.NOT_COVERED": "the local cache does not cover this plate's region",
        "reason.EXPIRED": "inspection validity has ended",
        "reason.SUPERSEDED": "certificate has ended but the vehicle was inspected again",
        "reason.STATUS": "vehicle status: {name} ({letter})",
        "reason.STATUS_UNKNOWN": "unknown vehicle status ({letter})",
        "error.BAD_PLATE": "invalid plate or plate type: {detail}",
        "error.NO_CODE_FOUND": "no QR code found in the picture: {detail}",
        "error.BAD_INPUT": "bad input: {detail}",
        "error.NOT_INITIALISED": "data dir not initialised, run vicheck init first: {detail}",
        "error.INTERNAL": "unexpected error: {detail}",
        "severity.none": "ok",
        "severity.info": "info",
        "severity.check": "check",
        "severity.invalid": "invalid",
        "severity.alert": "alert",
        "label.plate": "Plate",
        "label.valid_through": "Inspection valid through",
        "label.compare": "Compare the plate with the vehicle",
        "label.no_record": "no vehicle record",
        "label.issuer": "Issuer",
        "label.checked_at": "Checked at",
        "label.trust_list": "Trust list",
        "label.feed": "Feed",
        "sync.updated": "updated",
        "sync.current": "current",
        "sync.failed": "failed",
        "init.done": "initialised {data_dir}: server {server}, feeds {feeds}",
        "ui.title": "Vehicle inspection certificate check",
        "ui.key.scan": "Scan",
        "ui.key.lookup": "Plate",
        "ui.key.history": "History",
        "ui.key.sync": "Sync",
        "ui.key.status": "Status",
        "ui.key.back": "Back",
        "ui.key.quit": "Quit",
        "ui.scan.idle": "Hold the QR code to the camera, or press the scan key",
        "ui.scan.reading": "Reading...",
        "ui.scan.no_camera": "No camera: use the scan key, or plate lookup (F2)",
        "ui.status.fresh": "Data from {age} ago",
        "ui.status.stale": "Data out of date: sync (F5)",
        "ui.status.never": "Never synced: sync (F5)",
        "ui.card.dismiss": "Press any key to scan again",
        "ui.card.valid_through": "Inspection valid through {month}",
        "ui.card.no_validity": "No inspection validity on record",
        "ui.lookup.plate": "Plate number",
        "ui.lookup.type": "Plate type (optional, two digits)",
        "ui.lookup.province": "Province: press its number, or type it",
        "ui.lookup.invalid": "Not a valid plate",
        "ui.lookup.valid": "Valid plate: press Enter to look it up",
        "ui.history.empty": "No checks this shift yet",
        "ui.history.time": "Time",
        "ui.history.kind": "How",
        "ui.history.code": "code",
        "ui.history.plate": "plate",
        "ui.sync.title": "Sync",
        "ui.sync.running": "Syncing...",
        "ui.sync.done": "Sync complete",
        "ui.sync.failed": "Sync failed: {error}",
        "ui.sync.offline": "Offline: working from the local cache ({age})",
        "ui.sync.bytes": "{done} / {total}",
        "ui.sync.bytes_rate": "{done} / {total}, {rate}/s, {left} left",
        "ui.status.title": "Terminal status",
        "ui.status.server": "Server",
        "ui.status.feed": "Feed {feed}: version {version}, {age} ago, {fresh}",
        "ui.status.feed_never": "Feed {feed}: never synced",
        "ui.status.trust": "Trust list: version {version}, {age} ago, {fresh}",
        "ui.status.trust_never": "Trust list: none",
        "ui.status.floor": "Clock floor: {floor}",
        "ui.status.clock_behind": (
            "Warning: the device clock is behind the clock floor; using the floor"
        ),
        "ui.status.camera": "Camera: {camera}",
        "ui.status.language": "Language: {lang}",
        "ui.fresh": "fresh",
        "ui.stale": "stale",
        "ui.shift.title": "Shift start",
        "ui.shift.officer": "Officer number",
        "ui.shift.start": "Sync and start",
        "ui.shift.skip": "Start offline (skip sync)",
        "ui.too_small": "Screen too small: needs at least 40x20",
    },
}


def detect_language(requested: str | None = None) -> str:
    """``--lang`` if given, else the locale (LC_ALL, LC_MESSAGES, LANG); English otherwise."""
    if requested:
        return ZH if requested.lower().replace("-", "_").startswith("zh") else EN
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return ZH if value.lower().startswith("zh") else EN
    return EN


class Catalogue(NamedTuple):
    lang: str = EN

    def text(self, key: str, **fields: object) -> str:
        template = MESSAGES[self.lang].get(key) or MESSAGES[EN].get(key) or key
        return template.format(**fields) if fields else template

    def reason(self, code: str) -> str:
        if code.startswith("STATUS_"):
            letter = code[len("STATUS_") :]
            name = STATUS_NAMES[self.lang].get(letter)
            if name is None:
                return self.text("reason.STATUS_UNKNOWN", letter=letter)
            return self.text("reason.STATUS", name=name, letter=letter)
        return self.text(f"reason.{code}")

    def verdict(self, verdict: str) -> str:
        return self.text(f"verdict.{verdict}")

    def age(self, seconds: float) -> str:
        """A duration as people say it: 5 min, 3 h, 2 d."""
        seconds = max(0, int(seconds))
        units = (("d", "天", 86400), ("h", "小时", 3600), ("min", "分钟", 60), ("s", "秒", 1))
        for en, zh, size in units:
            if seconds >= size or size == 1:
                count = seconds // size
                return f"{count}{zh}" if self.lang == ZH else f"{count} {en}"
        return ""
