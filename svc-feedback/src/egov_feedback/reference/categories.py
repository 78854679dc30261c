"""The feedback categories (lĩnh vực phản ánh): code, field, answer deadline, who handles them, Open311 metadata.

A category's ``scope`` says who answers a report of it: ``"commune"`` means the people's committee of the
commune or ward where it happens (local roads, waste, noise, ...); otherwise it is the code of the provincial
department that handles it wherever it happens (land titles, construction permits, ...). Routing rules per area
can override either (:mod:`egov_feedback.reference.routing`).

Deadlines are working days to answer (Decision 766: 15 days from receipt unless shorter); urgent categories
(a burst water main, a fallen tree) are shorter. The department codes are those of the demo province (H27).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

COMMUNE: Final = "commune"
DEFAULT_SLA_DAYS: Final = 15

PROVINCE_OFFICE: Final = "000.00.01.H27"
JUSTICE: Final = "000.00.10.H27"
CONSTRUCTION: Final = "000.00.11.H27"
PLANNING_AND_INVESTMENT: Final = "000.00.12.H27"
NATURAL_RESOURCES_AND_ENVIRONMENT: Final = "000.00.13.H27"

DEPARTMENTS: Mapping[str, str] = MappingProxyType(
    {
        PROVINCE_OFFICE: "Văn phòng Ủy ban nhân dân tỉnh",
        JUSTICE: "Sở Tư pháp",
        CONSTRUCTION: "Sở Xây dựng",
        PLANNING_AND_INVESTMENT: "Sở Kế hoạch và Đầu tư",
        NATURAL_RESOURCES_AND_ENVIRONMENT: "Sở Tài nguyên và Môi trường",
    }
)

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_DATATYPES: Final = frozenset({"singlevaluelist", "multivaluelist"})


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    """An extra question of a category (an Open311 service definition attribute).

    ``variable=False`` marks text shown to the reporter that asks for no input.
    """

    code: str
    datatype: Datatype
    description: str
    order: int
    required: bool = False
    variable: bool = True
    datatype_description: str | None = None
    values: tuple[AttributeValue, ...] = ()


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    group: str
    description: str
    sla_days: int
    scope: str
    keywords: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()

    @property
    def handled_by_commune(self) -> bool:
        return self.scope == COMMUNE

    @property
    def metadata(self) -> bool:
        """Open311 ``metadata``: does the client need the service definition to submit a report?"""
        return bool(self.attributes)


# Fields (nhóm lĩnh vực), the Open311 ``group``.
TRAFFIC = "Giao thông"
ENVIRONMENT = "Môi trường"
URBAN_ORDER = "Trật tự đô thị"
LAND = "Đất đai"
BUILDING = "Xây dựng"
HEALTH = "Y tế"
EDUCATION = "Giáo dục"
PUBLIC_SERVICES = "Dịch vụ công"
BUSINESS = "Đầu tư, kinh doanh"
SECURITY = "An ninh trật tự"
UTILITIES = "Điện, nước"
OTHER = "Khác"

_YES_NO = (AttributeValue("co", "Có"), AttributeValue("khong", "Không"))


def _dangerous(order: int) -> Attribute:
    return Attribute(
        code="NGUY_HIEM",
        datatype="singlevaluelist",
        description="Có gây nguy hiểm trực tiếp cho người dân, người đi đường không?",
        order=order,
        values=_YES_NO,
    )


def _place_note(order: int) -> Attribute:
    return Attribute(
        code="GHI_CHU_VI_TRI",
        datatype="text",
        description="Mô tả thêm vị trí: số nhà, tên ngõ, cột điện hoặc mốc gần nhất.",
        order=order,
    )


def _emergency_notice(order: int, number: str) -> Attribute:
    return Attribute(
        code="KHAN_CAP",
        datatype="string",
        description=f"Trường hợp khẩn cấp đe dọa tính mạng, tài sản xin gọi ngay {number}.",
        order=order,
        variable=False,
    )


CATEGORIES: tuple[Category, ...] = (
    Category(
        "GT01",
        "Ổ gà, hư hỏng mặt đường",
        TRAFFIC,
        "Mặt đường, ngõ xóm bị lún, nứt, ổ gà, bong tróc.",
        10,
        COMMUNE,
        ("ổ gà", "ổ voi", "hỏng đường", "lún đường", "pothole"),
        (
            Attribute(
                code="KICH_THUOC",
                datatype="singlevaluelist",
                description="Kích thước chỗ hư hỏng",
                order=1,
                required=True,
                values=(
                    AttributeValue("nho", "Nhỏ (dưới 30 cm)"),
                    AttributeValue("vua", "Vừa (30 cm đến 1 m)"),
                    AttributeValue("lon", "Lớn (trên 1 m)"),
                ),
            ),
            _dangerous(2),
            _place_note(3),
        ),
    ),
    Category(
        "GT02",
        "Đèn tín hiệu giao thông hỏng",
        TRAFFIC,
        "Đèn tín hiệu tại nút giao không hoạt động hoặc hoạt động sai.",
        3,
        CONSTRUCTION,
        ("đèn giao thông", "đèn xanh đèn đỏ", "đèn tín hiệu"),
        (_dangerous(1),),
    ),
    Category(
        "GT03",
        "Biển báo, vạch sơn giao thông mất hoặc hư hỏng",
        TRAFFIC,
        "Biển báo bị mất, đổ, che khuất; vạch sơn mờ.",
        10,
        CONSTRUCTION,
        ("biển báo", "vạch kẻ đường", "biển chỉ dẫn"),
    ),
    Category(
        "GT04",
        "Tổ chức giao thông bất hợp lý, ùn tắc kéo dài",
        TRAFFIC,
        "Điểm thường xuyên ùn tắc, phân làn hoặc quay đầu xe bất hợp lý.",
        DEFAULT_SLA_DAYS,
        CONSTRUCTION,
        ("ùn tắc", "tắc đường", "phân làn"),
    ),
    Category(
        "GT05",
        "Đèn chiếu sáng công cộng hỏng",
        TRAFFIC,
        "Đèn đường, đèn ngõ xóm không sáng hoặc sáng cả ngày.",
        5,
        COMMUNE,
        ("đèn đường", "chiếu sáng", "mất điện đường"),
        (_place_note(1),),
    ),
    Category(
        "MT01",
        "Rác thải sinh hoạt không được thu gom",
        ENVIRONMENT,
        "Rác tồn đọng, không được thu gom đúng lịch.",
        5,
        COMMUNE,
        ("rác", "thu gom rác", "vệ sinh môi trường"),
    ),
    Category(
        "MT02",
        "Đổ trộm rác, phế thải xây dựng",
        ENVIRONMENT,
        "Đổ rác, phế thải xây dựng ra đường, đất trống, ven sông.",
        7,
        COMMUNE,
        ("đổ trộm", "phế thải", "xà bần"),
    ),
    Category(
        "MT03",
        "Ô nhiễm từ cơ sở sản xuất, kinh doanh",
        ENVIRONMENT,
        "Khói, bụi, mùi, nước thải từ nhà máy, xưởng, làng nghề.",
        DEFAULT_SLA_DAYS,
        NATURAL_RESOURCES_AND_ENVIRONMENT,
        ("ô nhiễm", "khói bụi", "nước thải", "mùi hôi"),
        (
            Attribute(
                code="LOAI_O_NHIEM",
                datatype="multivaluelist",
                description="Loại ô nhiễm",
                order=1,
                required=True,
                values=(
                    AttributeValue("khoi_bui", "Khói, bụi"),
                    AttributeValue("mui", "Mùi hôi"),
                    AttributeValue("nuoc_thai", "Nước thải"),
                    AttributeValue("chat_thai_ran", "Chất thải rắn"),
                ),
            ),
            Attribute(
                code="TEN_CO_SO",
                datatype="string",
                description="Tên cơ sở gây ô nhiễm (nếu biết)",
                order=2,
            ),
        ),
    ),
    Category(
        "MT04",
        "Tiếng ồn gây mất trật tự",
        ENVIRONMENT,
        "Karaoke, loa kéo, công trình thi công ồn ào ngoài giờ cho phép.",
        5,
        COMMUNE,
        ("tiếng ồn", "karaoke", "loa kéo", "ồn ào"),
        (
            Attribute(
                code="THOI_DIEM",
                datatype="datetime",
                description="Thời điểm xảy ra",
                order=1,
                datatype_description="Ngày giờ theo ISO 8601, ví dụ 2026-03-01T22:30:00+07:00",
            ),
        ),
    ),
    Category(
        "MT05",
        "Ngập úng, tắc cống thoát nước",
        ENVIRONMENT,
        "Đường ngập sau mưa, cống, rãnh thoát nước bị tắc hoặc mất nắp.",
        3,
        COMMUNE,
        ("ngập", "ngập úng", "tắc cống", "mất nắp cống"),
        (_dangerous(1),),
    ),
    Category(
        "MT06",
        "Cây xanh gãy đổ, có nguy cơ gãy đổ",
        ENVIRONMENT,
        "Cây xanh trên đường, nơi công cộng bị gãy, đổ, nghiêng nguy hiểm.",
        2,
        COMMUNE,
        ("cây đổ", "cây gãy", "cây xanh"),
        (_dangerous(1), _emergency_notice(2, "114")),
    ),
    Category(
        "DT01",
        "Lấn chiếm lòng đường, vỉa hè",
        URBAN_ORDER,
        "Buôn bán, để xe, dựng lều quán chiếm lòng đường, vỉa hè.",
        10,
        COMMUNE,
        ("lấn chiếm vỉa hè", "lòng đường", "trông giữ xe trái phép"),
    ),
    Category(
        "DT02",
        "Quảng cáo, rao vặt sai quy định",
        URBAN_ORDER,
        "Biển quảng cáo không phép, dán tờ rơi, rao vặt lên tường, cột điện.",
        10,
        COMMUNE,
        ("quảng cáo", "rao vặt", "tờ rơi", "biển hiệu"),
    ),
    Category(
        "DT03",
        "Họp chợ tự phát, bán hàng rong",
        URBAN_ORDER,
        "Chợ cóc, chợ tạm họp trên đường gây mất trật tự, mất vệ sinh.",
        10,
        COMMUNE,
        ("chợ cóc", "chợ tự phát", "hàng rong"),
    ),
    Category(
        "DD01",
        "Lấn chiếm, tranh chấp đất đai",
        LAND,
        "Lấn chiếm đất công, đất của hộ khác; tranh chấp ranh giới thửa đất (hòa giải tại cấp xã).",
        DEFAULT_SLA_DAYS,
        COMMUNE,
        ("tranh chấp đất", "lấn chiếm đất", "ranh giới"),
    ),
    Category(
        "DD02",
        "Cấp giấy chứng nhận quyền sử dụng đất chậm",
        LAND,
        "Hồ sơ cấp, cấp đổi giấy chứng nhận quyền sử dụng đất quá hạn, bị yêu cầu sai quy định.",
        DEFAULT_SLA_DAYS,
        NATURAL_RESOURCES_AND_ENVIRONMENT,
        ("sổ đỏ", "giấy chứng nhận", "quyền sử dụng đất"),
    ),
    Category(
        "DD03",
        "Bồi thường, hỗ trợ, tái định cư",
        LAND,
        "Giá bồi thường, hỗ trợ, bố trí tái định cư khi Nhà nước thu hồi đất.",
        DEFAULT_SLA_DAYS,
        NATURAL_RESOURCES_AND_ENVIRONMENT,
        ("giải phóng mặt bằng", "bồi thường", "tái định cư", "thu hồi đất"),
    ),
    Category(
        "DD04",
        "Khai thác khoáng sản, cát sỏi trái phép",
        LAND,
        "Khai thác cát, sỏi, đất trái phép trên sông, đồi, ruộng.",
        10,
        NATURAL_RESOURCES_AND_ENVIRONMENT,
        ("khai thác cát", "cát tặc", "khoáng sản"),
    ),
    Category(
        "XD01",
        "Xây dựng không phép, sai phép",
        BUILDING,
        "Công trình xây dựng không có giấy phép hoặc sai nội dung giấy phép.",
        10,
        COMMUNE,
        ("xây dựng trái phép", "không phép", "sai phép"),
        (
            Attribute(
                code="CO_BIEN_BAO",
                datatype="singlevaluelist",
                description="Công trình có treo biển báo thông tin giấy phép xây dựng không?",
                order=1,
                values=_YES_NO,
            ),
            _place_note(2),
        ),
    ),
    Category(
        "XD02",
        "Cấp giấy phép xây dựng chậm, phiền hà",
        BUILDING,
        "Hồ sơ xin giấy phép xây dựng quá hạn hoặc bị yêu cầu bổ sung không đúng quy định.",
        DEFAULT_SLA_DAYS,
        CONSTRUCTION,
        ("giấy phép xây dựng", "cấp phép xây dựng"),
    ),
    Category(
        "XD03",
        "Công trình thi công gây mất an toàn",
        BUILDING,
        "Thi công gây lún, nứt nhà liền kề, rơi vật liệu, không che chắn.",
        5,
        CONSTRUCTION,
        ("lún nứt", "mất an toàn", "thi công"),
        (_dangerous(1),),
    ),
    Category(
        "YT01",
        "Vệ sinh an toàn thực phẩm",
        HEALTH,
        "Cơ sở ăn uống, kinh doanh thực phẩm mất vệ sinh, thực phẩm không rõ nguồn gốc.",
        5,
        COMMUNE,
        ("an toàn thực phẩm", "ngộ độc", "thực phẩm bẩn"),
    ),
    Category(
        "YT02",
        "Nguy cơ dịch bệnh",
        HEALTH,
        "Ổ dịch sốt xuất huyết, tay chân miệng; xác động vật chết; nơi muỗi sinh sản.",
        2,
        COMMUNE,
        ("dịch bệnh", "sốt xuất huyết", "phun thuốc muỗi"),
    ),
    Category(
        "GD01",
        "Thu sai quy định trong trường học",
        EDUCATION,
        "Lạm thu, thu các khoản ngoài quy định tại trường mầm non, tiểu học, trung học cơ sở.",
        DEFAULT_SLA_DAYS,
        COMMUNE,
        ("lạm thu", "thu sai", "học phí"),
    ),
    Category(
        "GD02",
        "Cơ sở vật chất trường học xuống cấp",
        EDUCATION,
        "Phòng học, tường rào, công trình vệ sinh trường học hư hỏng, mất an toàn.",
        DEFAULT_SLA_DAYS,
        COMMUNE,
        ("trường học", "phòng học", "cơ sở vật chất"),
    ),
    Category(
        "DV01",
        "Giải quyết thủ tục hành chính chậm, quá hạn",
        PUBLIC_SERVICES,
        "Hồ sơ thủ tục hành chính quá hạn giải quyết, bị yêu cầu thêm giấy tờ không đúng quy định.",
        DEFAULT_SLA_DAYS,
        PROVINCE_OFFICE,
        ("thủ tục hành chính", "hồ sơ quá hạn", "một cửa"),
        (
            Attribute(
                code="MA_HO_SO",
                datatype="string",
                description="Mã hồ sơ trên giấy tiếp nhận (nếu có)",
                order=1,
            ),
        ),
    ),
    Category(
        "DV02",
        "Lỗi Cổng dịch vụ công trực tuyến",
        PUBLIC_SERVICES,
        "Không nộp được hồ sơ, không thanh toán được, không đăng nhập được trên Cổng dịch vụ công.",
        5,
        PROVINCE_OFFICE,
        ("dịch vụ công trực tuyến", "cổng dịch vụ công", "lỗi nộp hồ sơ"),
    ),
    Category(
        "DV03",
        "Thái độ, tác phong cán bộ tiếp nhận hồ sơ",
        PUBLIC_SERVICES,
        "Cán bộ bộ phận một cửa cấp xã gây phiền hà, nhũng nhiễu, thiếu hướng dẫn.",
        10,
        COMMUNE,
        ("nhũng nhiễu", "thái độ cán bộ", "phiền hà"),
    ),
    Category(
        "DV04",
        "Hộ tịch, chứng thực, lý lịch tư pháp",
        PUBLIC_SERVICES,
        "Đăng ký khai sinh, kết hôn, chứng thực bản sao, cấp phiếu lý lịch tư pháp chậm hoặc sai.",
        10,
        JUSTICE,
        ("hộ tịch", "khai sinh", "chứng thực", "lý lịch tư pháp"),
    ),
    Category(
        "KT01",
        "Đăng ký doanh nghiệp",
        BUSINESS,
        "Đăng ký thành lập, thay đổi nội dung đăng ký doanh nghiệp chậm hoặc phiền hà.",
        DEFAULT_SLA_DAYS,
        PLANNING_AND_INVESTMENT,
        ("đăng ký kinh doanh", "doanh nghiệp", "giấy phép kinh doanh"),
    ),
    Category(
        "KT02",
        "Dự án đầu tư chậm triển khai, bỏ hoang",
        BUSINESS,
        "Dự án đã giao đất nhưng chậm triển khai, bỏ hoang gây lãng phí, mất an ninh.",
        DEFAULT_SLA_DAYS,
        PLANNING_AND_INVESTMENT,
        ("dự án treo", "chậm tiến độ", "bỏ hoang"),
    ),
    Category(
        "AN01",
        "Tụ tập gây rối, mất trật tự công cộng",
        SECURITY,
        "Tụ tập đua xe, gây rối, đánh nhau, tệ nạn xã hội nơi công cộng.",
        3,
        COMMUNE,
        ("gây rối", "đua xe", "tụ tập", "tệ nạn"),
        (_emergency_notice(1, "113"),),
    ),
    Category(
        "DN01",
        "Vỡ đường ống, mất nước sinh hoạt",
        UTILITIES,
        "Vỡ ống cấp nước, mất nước, nước sinh hoạt đục, có mùi.",
        2,
        COMMUNE,
        ("vỡ ống nước", "mất nước", "nước bẩn", "cấp nước"),
        (
            Attribute(
                code="SO_HO",
                datatype="number",
                description="Số hộ bị ảnh hưởng (ước tính)",
                order=1,
            ),
            _dangerous(2),
        ),
    ),
    Category(
        "DN02",
        "Sự cố lưới điện, dây điện mất an toàn",
        UTILITIES,
        "Dây điện võng thấp, đứt, cột điện nghiêng, tủ điện hở.",
        2,
        COMMUNE,
        ("dây điện", "cột điện", "mất điện", "chập điện"),
        (_dangerous(1), _emergency_notice(2, "114")),
    ),
    Category(
        "KH01",
        "Phản ánh, kiến nghị khác",
        OTHER,
        "Phản ánh, kiến nghị không thuộc các lĩnh vực trên.",
        DEFAULT_SLA_DAYS,
        COMMUNE,
        ("khác", "kiến nghị"),
    ),
)

CATEGORIES_BY_CODE: Mapping[str, Category] = MappingProxyType({c.code: c for c in CATEGORIES})


def get_category(code: str) -> Category | None:
    return CATEGORIES_BY_CODE.get(code)
