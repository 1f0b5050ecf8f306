"""The dossier's document kinds (DOMAIN.md §3, §9): what a producer may upload, and what
``submit`` and ``resubmit`` need uploaded, per rule version. Labels live in the catalogues
(``document_kind_<kind>`` in ``workflow/i18n/*.po``)."""

from __future__ import annotations

# Every kind any version knows, in the order forms list them.
KINDS = (
    "registration_form",      # Phiếu đăng ký sản phẩm
    "business_plan",          # Phương án / kế hoạch sản xuất kinh doanh
    "product_standard",       # Tiêu chuẩn sản phẩm, bản công bố chất lượng
    "trademark_certificate",  # Giấy chứng nhận đăng ký nhãn hiệu
    "trademark_licence",      # Hợp đồng li-xăng / giấy xác nhận thành viên nhãn hiệu tập thể
    "regional_identity",      # Minh chứng đặc trưng vùng miền và tác động cộng đồng
    "product_story",          # Câu chuyện sản phẩm
    "test_report",            # Phiếu kết quả kiểm nghiệm
    "food_safety",            # Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm
    "label_photos",           # Ảnh sản phẩm, nhãn, bao bì
    "other",                  # Tài liệu khác
)

# Decision 1048/QĐ-TTg (2019): the registration form, the business plan and the standard.
REQUIRED_1048 = ("registration_form", "business_plan", "product_standard")
# Decisions 148/QĐ-TTg (2023) and 1489/QĐ-TTg (2025) ask for the product's story as well.
REQUIRED_148 = (*REQUIRED_1048, "product_story")

KINDS_1048 = tuple(k for k in KINDS if k != "trademark_licence")
KINDS_148 = KINDS
