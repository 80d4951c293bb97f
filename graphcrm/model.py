"""The graph model: node and relationship types, enums and the file templates.

Everything that describes *what* GraphCRM stores lives here, once: the column templates
that ingest reads (English and Chinese headers), the enums the validator checks, and the
tables the stores create. Readers, validation, the generator, both stores and the README's
template section are all driven by :data:`TABLES`.

Ids are the source system's ids (strings) and are unique across every node label, so a
relationship endpoint names exactly one node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum


class Label(StrEnum):
    """Node labels."""

    AGENT = "Agent"
    CLIENT = "Client"
    ORGANIZATION = "Organization"
    POLICY = "Policy"


class RelType(StrEnum):
    """Relationship types (docs/templates.md, relationships)."""

    SERVES = "SERVES"  # agent -> client, servicing agent of record
    RELATIVE_OF = "RELATIVE_OF"  # client - client, kind in RelativeKind
    COLLEAGUE_OF = "COLLEAGUE_OF"  # client - client
    WORKS_AT = "WORKS_AT"  # client -> organization
    FRIEND_OF = "FRIEND_OF"  # client - client
    REFERRED = "REFERRED"  # client -> client: the referrer introduced the referee
    BUSINESS_TIE = "BUSINESS_TIE"  # client/org - client/org, kind in BusinessKind


class RelativeKind(StrEnum):
    """Kinds of RELATIVE_OF. ``parent``: the source is the parent of the target."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    OTHER = "other"


class BusinessKind(StrEnum):
    """Kinds of BUSINESS_TIE, read from the source's side: the target is my customer, ..."""

    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    PARTNER = "partner"
    ALLIANCE = "alliance"


class InteractionType(StrEnum):
    """Agent-client interaction events; each is evidence for one trust level
    (docs/metrics.md, trust)."""

    VISIT = "visit"  # accepted an invitation or visit -> perceived
    CALL = "call"  # -> perceived
    MESSAGE = "message"  # -> perceived
    SOCIAL_LIKE = "social_like"  # likes the agent's posts -> perceived
    SOCIAL_COMMENT = "social_comment"  # comments on the agent's posts -> perceived
    SHARE_POST = "share_post"  # shares industry posts -> perceived
    PRIVATE_TALK = "private_talk"  # shared private matters -> emotional
    PRIVATE_COMMENT = "private_comment"  # interacts with the agent's private posts -> emotional
    EVENT = "event"  # attended a company event -> perceived
    EVENT_FAMILY = "event_family"  # attended a company event with family -> emotional
    ENQUIRY = "enquiry"  # asked about products / asked to buy -> behavioural
    PURCHASE = "purchase"  # bought -> behavioural
    COMPLAINT = "complaint"  # a distrust signal
    # the experiences of the quadrant plan (DOMAIN.md 'Tiering'), recorded after they happen
    ROUTINE_SERVICE = "routine_service"  # -> perceived
    PERIODIC_VISIT = "periodic_visit"  # -> perceived
    GENERAL_EVENT = "general_event"  # -> perceived
    PREMIUM_EVENT = "premium_event"  # -> emotional
    LIFE_SERVICE = "life_service"  # -> emotional
    TAILOR_MADE = "tailor_made"  # -> emotional


class TrustLevel(StrEnum):
    """Trust levels in increasing order (docs/metrics.md, trust)."""

    NONE = "none"
    PERCEIVED = "perceived"
    EMOTIONAL = "emotional"
    BEHAVIOURAL = "behavioural"


class PolicyCategory(StrEnum):
    CRITICAL_ILLNESS = "critical_illness"
    MEDICAL = "medical"
    ACCIDENT = "accident"
    LIFE = "life"
    ANNUITY = "annuity"
    EDUCATION = "education"
    SAVINGS = "savings"


class PolicyStatus(StrEnum):
    IN_FORCE = "in_force"
    LAPSED = "lapsed"
    SURRENDERED = "surrendered"


class AgentStatus(StrEnum):
    ACTIVE = "active"
    DEPARTED = "departed"


class ClientStatus(StrEnum):
    CLIENT = "client"  # holds at least one in-force policy
    PROSPECT = "prospect"


class LifeStage(StrEnum):
    SINGLE = "single"
    COUPLE = "couple"
    YOUNG_FAMILY = "young_family"
    MATURE_FAMILY = "mature_family"
    RETIRED = "retired"


class Gender(StrEnum):
    MALE = "M"
    FEMALE = "F"


class Band(StrEnum):
    """Income, education and liquid-asset bands share one ordinal scale."""

    LOW = "low"
    MIDDLE = "middle"
    HIGH = "high"


# Chinese (and common English) spellings accepted for enum values, mapped to the canonical value.
ENUM_SYNONYMS: dict[str, str] = {
    # relationship types
    "服务": "SERVES", "亲属": "RELATIVE_OF", "同事": "COLLEAGUE_OF", "任职": "WORKS_AT",
    "朋友": "FRIEND_OF", "转介绍": "REFERRED", "商业往来": "BUSINESS_TIE",
    # relative / business kinds
    "配偶": "spouse", "父母": "parent", "子女": "child", "兄弟姐妹": "sibling", "其他亲属": "other",
    "客户": "customer", "供应商": "supplier", "合作伙伴": "partner", "战略联盟": "alliance",
    # interactions
    "拜访": "visit", "电话": "call", "消息": "message", "点赞": "social_like",
    "评论": "social_comment", "转发": "share_post", "私事交流": "private_talk",
    "私密互动": "private_comment", "活动": "event",
    "携家属活动": "event_family", "咨询": "enquiry", "购买": "purchase", "投诉": "complaint",
    "例行服务": "routine_service", "定期拜访": "periodic_visit", "一般活动": "general_event",
    "高端活动": "premium_event", "生活服务": "life_service", "量身定制": "tailor_made",
    # policies
    "重疾": "critical_illness", "医疗": "medical", "意外": "accident", "寿险": "life",
    "年金养老": "annuity", "年金": "annuity", "养老": "annuity", "教育金": "education",
    "储蓄投资": "savings", "储蓄": "savings",
    "有效": "in_force", "失效": "lapsed", "退保": "surrendered",
    # statuses, gender, bands, stages
    "在职": "active", "离职": "departed", "准客户": "prospect",
    "男": "M", "女": "F", "male": "M", "female": "F", "m": "M", "f": "F",
    "低": "low", "中": "middle", "高": "high", "medium": "middle",
    "单身": "single", "两人世界": "couple", "三口之家": "young_family",
    "成熟家庭": "mature_family", "退休": "retired",
    # booleans
    "是": "true", "否": "false", "yes": "true", "no": "false", "y": "true", "n": "false",
    "1": "true", "0": "false",
}


@dataclass(frozen=True)
class Column:
    """One column of a file template.

    ``kind`` is one of: ``id``, ``text``, ``date``, ``int``, ``float``, ``enum``, ``bool``,
    ``phone`` (mainland mobile), ``id_number`` (resident ID, 18 digits with checksum),
    ``ref`` (an id of a node with one of ``refs`` labels).
    """

    name: str
    zh: str
    kind: str = "text"
    required: bool = False
    values: tuple[str, ...] = ()
    refs: tuple[Label, ...] = ()
    aliases: tuple[str, ...] = ()
    help: str = ""
    low: float | None = None  # numeric lower bound (inclusive)
    high: float | None = None  # numeric upper bound (inclusive)

    def headers(self) -> tuple[str, ...]:
        """Every header spelling accepted for this column."""
        return (self.name, self.zh, *self.aliases)


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(e.value for e in enum)


@dataclass(frozen=True)
class Table:
    """A file template and the store table it fills."""

    name: str  # file stem and table name: agents, clients, ...
    zh: str
    key: tuple[str, ...]  # primary key columns
    columns: tuple[Column, ...]
    label: Label | None = None  # node label for node tables
    help: str = ""
    synonyms: tuple[str, ...] = field(default=())  # other file stems accepted

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


NODE_REFS = (Label.AGENT, Label.CLIENT, Label.ORGANIZATION)

AGENTS = Table(
    "agents", "业务员", ("agent_id",), label=Label.AGENT,
    help="One row per agent (业务员/代理人).",
    synonyms=("agent", "业务员", "代理人"),
    columns=(
        Column("agent_id", "工号", "id", required=True, aliases=("代理人编号", "id")),
        Column("name", "姓名", required=True),
        Column("team", "团队"),
        Column("branch", "营业部", aliases=("分公司",)),
        Column("region", "区域"),
        Column("hire_date", "入司日期", "date", required=True),
        Column("status", "状态", "enum", required=True, values=_values(AgentStatus)),
        Column("departure_date", "离职日期", "date"),
        Column("supervisor_id", "主管工号", "ref", refs=(Label.AGENT,)),
        Column("phone", "手机号", "phone", aliases=("手机", "电话")),
    ),
)

CLIENTS = Table(
    "clients", "客户", ("client_id",), label=Label.CLIENT,
    help="One row per person: clients and prospects (客户与准客户).",
    synonyms=("client", "customers", "客户", "准客户"),
    columns=(
        Column("client_id", "客户编号", "id", required=True, aliases=("id",)),
        Column("name", "姓名", required=True),
        Column("gender", "性别", "enum", values=_values(Gender)),
        Column("birth_date", "出生日期", "date"),
        Column("age", "年龄", "int", low=0, high=120, help="used when birth_date is blank"),
        Column("phone", "手机号", "phone", aliases=("手机", "电话")),
        Column("id_number", "身份证号", "id_number", aliases=("证件号码",)),
        Column("city", "城市"),
        Column("region", "区域"),
        Column("occupation", "职业"),
        Column("income_band", "收入", "enum", values=_values(Band), aliases=("收入档",)),
        Column("education_band", "学历", "enum", values=_values(Band)),
        Column("asset_band", "可投资资产", "enum", values=_values(Band), aliases=("资产", "能力")),
        Column("life_stage", "人生阶段", "enum", values=_values(LifeStage),
               help="optional; GraphCRM infers the stage from the family graph"),
        Column("source_channel", "来源渠道", aliases=("来源",)),
        Column("status", "状态", "enum", values=_values(ClientStatus),
               help="optional; a client holds at least one in-force policy"),
    ),
)

ORGANIZATIONS = Table(
    "organizations", "机构", ("org_id",), label=Label.ORGANIZATION,
    help="Employers and businesses (工作单位与企业).",
    synonyms=("organisations", "orgs", "companies", "机构", "单位", "企业"),
    columns=(
        Column("org_id", "机构编号", "id", required=True, aliases=("id",)),
        Column("name", "名称", required=True, aliases=("机构名称",)),
        Column("industry", "行业"),
        Column("city", "城市"),
    ),
)

POLICIES = Table(
    "policies", "保单", ("policy_id",), label=Label.POLICY,
    help="One row per policy (保单).",
    synonyms=("policy", "保单"),
    columns=(
        Column("policy_id", "保单号", "id", required=True, aliases=("id",)),
        Column("holder_id", "投保人编号", "ref", required=True, refs=(Label.CLIENT,)),
        Column("insured_id", "被保人编号", "ref", refs=(Label.CLIENT,),
               help="blank means the holder"),
        Column("category", "险种", "enum", required=True, values=_values(PolicyCategory)),
        Column("annual_premium", "年缴保费", "float", required=True, low=0),
        Column("sum_insured", "保额", "float", low=0),
        Column("start_date", "生效日期", "date", required=True),
        Column("status", "状态", "enum", required=True, values=_values(PolicyStatus)),
        Column("writing_agent_id", "出单业务员", "ref", refs=(Label.AGENT,)),
        Column("servicing_agent_id", "服务业务员", "ref", refs=(Label.AGENT,)),
    ),
)

RELATIONSHIPS = Table(
    "relationships", "关系", ("type", "src_id", "dst_id"),
    help="One row per tie. Direction matters for SERVES (agent→client), WORKS_AT "
    "(client→organization), REFERRED (referrer→referee), RELATIVE_OF parent/child and "
    "BUSINESS_TIE customer/supplier. Every other tie has no direction: A–B and B–A are one "
    "tie (stored once, smaller id first; a reversed repeat is merged, not rejected).",
    synonyms=("relationship", "relations", "ties", "关系"),
    columns=(
        Column("src_id", "起点编号", "ref", required=True, refs=NODE_REFS,
               aliases=("from", "起点")),
        Column("dst_id", "终点编号", "ref", required=True, refs=NODE_REFS,
               aliases=("to", "终点")),
        Column("type", "关系类型", "enum", required=True, values=_values(RelType)),
        Column("kind", "关系细类", "enum",
               values=_values(RelativeKind) + _values(BusinessKind),
               help="required for RELATIVE_OF and BUSINESS_TIE"),
        Column("start_date", "开始日期", "date", aliases=("date", "日期")),
        Column("source", "来源"),
        Column("confidence", "置信度", "float", low=0, high=1),
        Column("converted", "是否成交", "bool", help="REFERRED only: did the referee buy"),
        Column("approved_by", "审批人", aliases=("approver",),
               help="SERVES only: who approved the assignment (orphan clients, "
               "`graphcrm orphans assign --apply --approver`)"),
    ),
)

INTERACTIONS = Table(
    "interactions", "互动", ("interaction_id",),
    help="Agent-client events. interaction_id is optional: a stable id is derived from "
    "agent, client, type and date when it is blank.",
    synonyms=("interaction", "events", "互动", "互动记录"),
    columns=(
        Column("interaction_id", "互动编号", "id", aliases=("id",)),
        Column("agent_id", "工号", "ref", required=True, refs=(Label.AGENT,),
               aliases=("业务员工号",)),
        Column("client_id", "客户编号", "ref", required=True, refs=(Label.CLIENT,)),
        Column("type", "互动类型", "enum", required=True, values=_values(InteractionType)),
        Column("date", "日期", "date", required=True),
        Column("outcome", "结果"),
        Column("rating", "评价", "int", low=-10, high=10,
               help="-10 (distrust) to 10; a negative rating is a distrust signal"),
        Column("note", "备注", help="free text: what was discussed, what comes next"),
    ),
)

#: Tables in ingest order: referenced tables first.
TABLES: tuple[Table, ...] = (AGENTS, ORGANIZATIONS, CLIENTS, POLICIES, RELATIONSHIPS, INTERACTIONS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
NODE_TABLES: dict[Label, Table] = {t.label: t for t in TABLES if t.label is not None}

#: Relationship kinds that are valid per relationship type (others must leave kind blank).
KINDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    RelType.RELATIVE_OF: _values(RelativeKind),
    RelType.BUSINESS_TIE: _values(BusinessKind),
}

#: Ties whose direction means nothing: A–B and B–A are one tie (the store keeps it once, with
#: the smaller id as src_id). Type -> kinds that are symmetric (None: every row of the type).
#: SERVES, WORKS_AT, REFERRED, RELATIVE_OF parent/child and BUSINESS_TIE customer/supplier keep
#: their direction.
UNDIRECTED: dict[str, tuple[str, ...] | None] = {
    RelType.FRIEND_OF: None,
    RelType.COLLEAGUE_OF: None,
    RelType.RELATIVE_OF: (RelativeKind.SPOUSE, RelativeKind.SIBLING, RelativeKind.OTHER),
    RelType.BUSINESS_TIE: (BusinessKind.PARTNER, BusinessKind.ALLIANCE),
}

#: Endpoint labels allowed per relationship type: (source labels, target labels).
ENDPOINTS: dict[str, tuple[tuple[Label, ...], tuple[Label, ...]]] = {
    RelType.SERVES: ((Label.AGENT,), (Label.CLIENT,)),
    RelType.RELATIVE_OF: ((Label.CLIENT,), (Label.CLIENT,)),
    RelType.COLLEAGUE_OF: ((Label.CLIENT,), (Label.CLIENT,)),
    RelType.WORKS_AT: ((Label.CLIENT,), (Label.ORGANIZATION,)),
    RelType.FRIEND_OF: ((Label.CLIENT,), (Label.CLIENT,)),
    RelType.REFERRED: ((Label.CLIENT,), (Label.CLIENT,)),
    RelType.BUSINESS_TIE: ((Label.CLIENT, Label.ORGANIZATION), (Label.CLIENT, Label.ORGANIZATION)),
}


def derived_interaction_id(agent_id: str, client_id: str, type_: str, date: str,
                           outcome: str | None, nth: int = 1) -> str:
    """The stable id of an interaction recorded without one: the same agent, client, type,
    date and outcome give the same id, so the same record loaded or logged twice is stored
    once (``nth`` > 1 numbers identical events within one file)."""
    text = "|".join((agent_id, client_id, type_, date, outcome or ""))
    if nth > 1:
        text += f"#{nth}"
    return "I-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
