"""Vietnamese and English words of the console and the public pages."""

from __future__ import annotations

LANGS = ("vi", "en")

STATES = {
    "vi": {
        "draft": "Bản nháp", "registered": "Đã đăng ký", "commune_prescore": "Xã sơ chấm",
        "district_review": "Huyện đánh giá", "needs_completion": "Cần bổ sung hồ sơ",
        "ip_check": "Kiểm tra sở hữu trí tuệ", "city_rating": "Thành phố đánh giá",
        "central_review": "Trung ương xem xét", "certified": "Đã công nhận",
        "reevaluation": "Đánh giá lại", "rejected": "Không đạt", "withdrawn": "Đã rút",
        "expired": "Hết hiệu lực", "revoked": "Bị thu hồi",
    },
    "en": {
        "draft": "Draft", "registered": "Registered", "commune_prescore": "Commune pre-score",
        "district_review": "District review", "needs_completion": "Needs completion",
        "ip_check": "IP check", "city_rating": "City rating", "central_review": "Central review",
        "certified": "Certified", "reevaluation": "Re-evaluation", "rejected": "Rejected",
        "withdrawn": "Withdrawn", "expired": "Expired", "revoked": "Revoked",
    },
}

TRIGGERS = {
    "vi": {
        "register": "Đăng ký", "submit": "Nộp hồ sơ", "start_review": "Bắt đầu đánh giá",
        "request_completion": "Yêu cầu bổ sung", "resubmit": "Nộp bổ sung",
        "record_commune_prescore": "Ghi kết quả sơ chấm xã",
        "record_district_score": "Ghi điểm cấp huyện", "verify_ip": "Xác nhận nhãn hiệu",
        "record_no_ip": "Ghi nhận chưa có nhãn hiệu", "record_city_score": "Ghi điểm cấp thành phố",
        "record_central_result": "Ghi kết quả trung ương", "open_reevaluation": "Mở đánh giá lại",
        "expire": "Hết hạn", "revoke": "Thu hồi", "withdraw": "Rút hồ sơ",
        "escalate": "Báo cáo vượt cấp",
    },
    "en": {},
}

WORDS = {
    "vi": {
        "title": "OCOP — Hệ thống quản lý chương trình Mỗi xã một sản phẩm",
        "sign_in": "Đăng nhập", "sign_out": "Đăng xuất", "token": "Mã truy cập (token)",
        "token_help": "Dán mã truy cập mà lệnh `ocop users add` đã in ra.",
        "bad_token": "Mã truy cập không đúng.", "inbox": "Hồ sơ cần xử lý",
        "audit": "Nhật ký kiểm toán", "case": "Hồ sơ", "state": "Trạng thái",
        "product": "Sản phẩm", "producer": "Chủ thể", "district": "Huyện", "commune": "Xã",
        "due": "Hạn xử lý", "overdue": "Quá hạn", "rules": "Bộ tiêu chí", "score": "Điểm",
        "stars": "Số sao", "certificate": "Giấy chứng nhận", "valid_to": "Hiệu lực đến",
        "timeline": "Diễn biến hồ sơ", "actions": "Thao tác", "diagram": "Sơ đồ quy trình",
        "no_cases": "Không có hồ sơ nào.", "no_actions": "Bạn không có thao tác nào lúc này.",
        "member": "Thành viên hội đồng", "part": "Phần", "max": "tối đa",
        "mandatory_ok": "Đạt các tiêu chí bắt buộc", "reason": "Lý do", "apply": "Thực hiện",
        "days": "Số ngày bổ sung", "filter": "Lọc", "all": "Tất cả", "since": "Từ",
        "until": "Đến", "actor": "Người thực hiện", "trigger": "Sự kiện", "csv": "Tải CSV",
        "at": "Thời điểm", "from": "Từ", "to": "Sang", "version": "Phiên bản",
        "deadlines": "Thời hạn", "paused": "tạm dừng", "error": "Không thực hiện được",
        "done": "Đã thực hiện", "signed_in_as": "Đăng nhập với tên",
        "status_title": "Tình trạng hồ sơ OCOP", "notices": "Thông báo",
        "verify_title": "Tra cứu giấy chứng nhận OCOP", "valid_today": "Còn hiệu lực hôm nay",
        "not_valid_today": "Không còn hiệu lực hôm nay", "issued_on": "Ngày cấp",
        "level": "Cấp", "scan": "Quét mã QR để tra cứu", "documents": "Tài liệu trong hồ sơ",
        "passed": "Đạt", "decision_no": "Số quyết định", "certificate_no": "Số văn bằng",
        "holder": "Chủ sở hữu", "registered_on": "Ngày đăng ký", "total": "Tổng",
        "language": "Ngôn ngữ", "taken": "đã đi qua", "all_roles": "Vai trò",
    },
    "en": {
        "title": "OCOP — One Commune One Product certification", "sign_in": "Sign in",
        "sign_out": "Sign out", "token": "Access token",
        "token_help": "Paste the token that `ocop users add` printed.",
        "bad_token": "That token is not valid.", "inbox": "Inbox", "audit": "Audit trail",
        "case": "Case", "state": "State", "product": "Product", "producer": "Producer",
        "district": "District", "commune": "Commune", "due": "Due", "overdue": "Overdue",
        "rules": "Rules", "score": "Score", "stars": "Stars", "certificate": "Certificate",
        "valid_to": "Valid to", "timeline": "Timeline", "actions": "Actions",
        "diagram": "Lifecycle", "no_cases": "No cases.",
        "no_actions": "There is nothing you may do to this case now.",
        "member": "Council member", "part": "Part", "max": "max",
        "mandatory_ok": "Mandatory criteria met", "reason": "Reason", "apply": "Apply",
        "days": "Days to complete", "filter": "Filter", "all": "All", "since": "Since",
        "until": "Until", "actor": "Actor", "trigger": "Trigger", "csv": "Download CSV",
        "at": "At", "from": "From", "to": "To", "version": "Version",
        "deadlines": "Deadlines", "paused": "paused", "error": "Not done",
        "done": "Done", "signed_in_as": "Signed in as",
        "status_title": "OCOP application status", "notices": "Notifications",
        "verify_title": "OCOP certificate check", "valid_today": "Valid today",
        "not_valid_today": "Not valid today", "issued_on": "Issued on", "level": "Level",
        "scan": "Scan the QR code to check", "documents": "Documents in the dossier",
        "passed": "Passed", "decision_no": "Decision number",
        "certificate_no": "Certificate number", "holder": "Holder",
        "registered_on": "Registered on", "total": "Total", "language": "Language",
        "taken": "taken", "all_roles": "Role",
    },
}


def pick(lang: str | None) -> str:
    return lang if lang in LANGS else "vi"


def translator(lang: str) -> dict[str, object]:
    """The functions templates call: ``t(word)``, ``st(state)``, ``tr(trigger)``."""
    words, names, triggers = WORDS[lang], STATES[lang], TRIGGERS[lang]
    return {
        "lang": lang,
        "t": lambda key: words.get(key, key),
        "st": lambda state: names.get(state or "", state or "—"),
        "tr": lambda trigger: triggers.get(trigger, trigger.replace("_", " ")),
    }
