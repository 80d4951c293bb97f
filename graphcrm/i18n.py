"""Every label and message the app shows, in Chinese (zh) and English (en).

Domain terms follow ../shared/DOMAIN.md (客户经营地图 client operation map, 动力圈 power circle,
客户信任度 trust, 客户分层 quadrant, 转介绍 referral, 客户渗透网 penetration network ...).
Use :func:`t` with a key; ``{name}`` placeholders are filled from keyword arguments.
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {"zh": "中文", "en": "English"}

#: key -> (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("GraphCRM 客户关系图谱", "GraphCRM referral & influence explorer"),
    "language": ("语言 / Language", "Language / 语言"),
    "page": ("页面", "Page"),
    "page_opmap": ("客户经营地图", "Client operation map"),
    "page_paths": ("转介绍路径", "Warm referral paths"),
    "page_penetration": ("客户渗透网", "Penetration network"),
    "page_hubs": ("影响力中心", "Influence hubs"),
    "page_rewards": ("客户价值奖励", "Chain-referral rewards"),
    "page_gaps": ("保障缺口", "Coverage gaps"),
    "page_data": ("数据", "Data"),
    "store": ("数据库", "Store"),
    "data_version": ("数据版本", "Data version"),
    "empty_store": (
        "数据库里还没有数据。请在“数据”页上传 CSV/XLSX 文件，或在命令行运行 "
        "`graphcrm ingest data/sample --store {store}`，或运行 `graphcrm demo` 载入示例数据。",
        "The store has no data yet. Upload CSV/XLSX files on the Data page, or run "
        "`graphcrm ingest data/sample --store {store}`, or `graphcrm demo` for the sample.",
    ),
    "store_error": ("无法打开数据库 {store}：{error}", "Cannot open the store {store}: {error}"),
    "failed": ("计算失败：{error}", "Could not compute this view: {error}"),
    "unknown_id": ("找不到编号 {id}", "Unknown id {id}"),
    "no_results": ("没有结果。", "No results."),
    "agent": ("业务员", "Agent"),
    "agent_pick": ("选择业务员", "Choose an agent"),
    "client": ("客户", "Client"),
    "prospect": ("准客户", "Prospect"),
    "organization": ("机构", "Organization"),
    "family": ("家庭", "Family"),
    "book_size": ("名下客户 {n} 人", "{n} people in the book"),
    # operation map
    "colour_by": ("颜色表示", "Colour by"),
    "colour_trust": ("信任度", "Trust level"),
    "colour_quadrant": ("客户分层", "Quadrant"),
    "opmap_caption": (
        "业务员在中心；线越长，连接越难（连接距离）；圆越大，动力圈（影响力）越大。",
        "The agent is at the centre; a longer line means a harder connection (connection "
        "distance); a bigger circle means a bigger power circle (influence).",
    ),
    "max_people": ("最多显示人数", "People shown at most"),
    "open_person": ("查看此人", "Open a person"),
    "person_detail": ("人员详情", "Person"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "col_name": ("姓名", "Name"), "col_status": ("状态", "Status"),
    "col_distance": ("连接距离", "Connection distance"), "col_warmth": ("温度", "Warmth"),
    "col_hops": ("层数", "Hops"), "col_influence": ("影响力", "Influence"),
    "col_power_circle": ("动力圈", "Power circle"), "col_trust": ("信任度", "Trust level"),
    "col_trust_evidence": ("信任证据", "Trust evidence"), "col_quadrant": ("客户分层", "Quadrant"),
    "col_value_tier": ("价值层级", "Value tier"), "col_abc": ("ABC 分类", "ABC class"),
    "col_best_introducer": ("最佳介绍人", "Best introducer"), "col_tie": ("关系", "Tie"),
    "hover_person": ("{name}（{id}，{status}）", "{name} ({id}, {status})"),
    # warm paths
    "prospect_search": ("搜索准客户（姓名、电话或编号）", "Search a prospect (name, phone or id)"),
    "prospect_pick": ("选择目标", "Choose the target"),
    "search_hint": ("输入姓名、电话或编号开始搜索。", "Type a name, phone or id to search."),
    "no_match": ("没有找到与“{text}”匹配的人。", "Nobody matches “{text}”."),
    "path_n": ("路径 {n}", "Path {n}"),
    "warmth": ("温度 {w:.2f}，连接距离 {d:.2f}", "warmth {w:.2f}, connection distance {d:.2f}"),
    "tie_line": ("{a} → {b}：{tie}，强度 {s:.2f}，最近联系 {last}",
                 "{a} → {b}: {tie}, strength {s:.2f}, last contact {last}"),
    "opener": (
        "建议：先请 {who} 引荐——{who} 与 {target} 是{tie}关系（最近联系 {last}）。",
        "Suggested opener: ask {who} to introduce you — {who} knows {target} as {tie} "
        "(last contact {last}).",
    ),
    "opener_direct": ("建议：{target} 已在您的关系中，直接联系即可。",
                      "Suggested opener: {target} is already your direct tie — contact them."),
    "no_path": (
        "在 {hops} 层以内没有温暖的转介绍路径。建议：先接触 {target} 所在圈子里影响力最高的 "
        "{hub}，或从您最近的圈子开始拓展。",
        "No warm path within {hops} ties. Instead: approach {hub}, the most influential "
        "person in {target}'s circle, or widen your nearest circle first.",
    ),
    "no_path_plain": ("在 {hops} 层以内没有温暖的转介绍路径，且目标没有已知的圈子。",
                      "No warm path within {hops} ties, and the target is in no known circle."),
    "unknown": ("未知", "unknown"),
    # penetration
    "centre_kind": ("中心", "Centre"),
    "centre_pick": ("选择中心", "Choose the centre"),
    "hops": ("层数", "Hops"),
    "tie_types": ("关系类型", "Relationship types"),
    "capped": ("网络超过 {cap} 个节点，仅显示最近的 {cap} 个。",
               "The network has more than {cap} nodes; showing the nearest {cap}."),
    "SERVES": ("服务", "serves"), "RELATIVE_OF": ("亲属", "relative"),
    "FRIEND_OF": ("朋友", "friend"), "COLLEAGUE_OF": ("同事", "colleague"),
    "WORKS_AT": ("任职", "works at"), "BUSINESS_TIE": ("商业往来", "business tie"),
    "REFERRED": ("转介绍", "referred"),
    "legend": ("图例", "Legend"),
    "network_counts": ("{nodes} 个节点，{edges} 条关系", "{nodes} nodes, {edges} ties"),
    "family_of": ("{name} 的家庭", "{name}'s family"),
    # hubs
    "team": ("团队", "Team"), "branch": ("营业部", "Branch"), "region": ("区域", "Region"),
    "all": ("全部", "All"),
    "group_by": ("范围", "Scope"),
    "top_hubs": ("影响力中心", "Top hubs"),
    "agent_influence": ("业务员自身影响力（主管视图，不计入客户影响力）",
                        "Agents' own influence (for managers; never part of a client's)"),
    "bridges": ("桥梁人物（连接不同圈子）", "Bridges (join separate circles)"),
    "show_bridges": ("计算桥梁人物（首次需几秒）",
                     "Compute bridges (a few seconds the first time)"),
    "influence_chart": ("影响力分布", "Influence distribution"),
    "circle_penetration": ("最大圈子的团队渗透率", "Team penetration of the biggest circles"),
    "col_circle": ("圈子", "Circle"), "col_reach": ("转介绍覆盖", "Referral reach"),
    "col_members": ("人数", "Members"), "col_served": ("已服务", "Served by the team"),
    "col_share": ("渗透率", "Penetration"),
    # rewards
    "period": ("期间", "Period"),
    "points_note": ("奖励为积分，不是现金。", "Rewards are points, not cash."),
    "ledger": ("奖励明细", "Ledger"), "totals": ("每位客户合计", "Totals per client"),
    "exclusions": ("排除项及原因", "Exclusions and why"),
    "drill": ("查看推荐链", "Drill into the referral chain"),
    "chain": ("推荐链", "Referral chain"),
    # gaps
    "scope_client": ("单个客户", "One client"), "scope_book": ("业务员名下", "An agent's book"),
    "life_stage": ("人生阶段", "Life stage"),
    # data
    "upload": ("上传 CSV/XLSX 文件", "Upload CSV/XLSX files"),
    "upload_help": ("文件名需与模板一致（agents、clients、policies、relationships、"
                    "interactions、organizations）。",
                    "File names must match the templates (agents, clients, policies, "
                    "relationships, interactions, organizations)."),
    "run_ingest": ("导入", "Import"),
    "ingest_done": ("导入完成：数据版本 {before} → {after}。",
                    "Import finished: data version {before} → {after}."),
    "ingest_failed": ("导入失败：{error}", "Import failed: {error}"),
    "warming": ("正在生成分析图谱与影响力指标……",
                "Building the analysis graph and influence metrics…"),
    "rejects": ("被拒绝的行：{n}", "Rejected rows: {n}"),
    "download_rejects": ("下载被拒绝的行", "Download rejected rows"),
    "counts": ("数量", "Counts"),
    "progress": ("{file}：{done}/{total} 行", "{file}: {done}/{total} rows"),
    # sign-in and scope (docs/privacy.md)
    "signin_title": ("请登录", "Please sign in"),
    "signin_user": ("用户名", "User name"),
    "signin_password": ("密码", "Password"),
    "signin_submit": ("登录", "Sign in"),
    "signin_failed": ("用户名或密码不正确。", "Wrong user name or password."),
    "signin_throttled": ("登录失败次数过多，请 {s} 秒后再试。",
                         "Too many failed sign-ins: try again in {s} seconds."),
    "signin_expired": ("长时间未操作，已自动退出，请重新登录。",
                       "You were signed out after a while without activity: please sign in "
                       "again."),
    "signin_no_users": ("还没有任何用户：请在命令行运行 `graphcrm users add NAME --role admin`"
                        "（或 `graphcrm demo`）。",
                        "No users yet: run `graphcrm users add NAME --role admin` (or "
                        "`graphcrm demo`) on the command line."),
    "signed_in_as": ("已登录：{user}（{role}）", "Signed in: {user} ({role})"),
    "sign_out": ("退出登录", "Sign out"),
    "role_agent": ("业务员", "agent"),
    "role_manager": ("主管", "manager"),
    "role_admin": ("管理员", "admin"),
    "admin_only": ("此页面仅限管理员。", "This page is for admins only."),
    "colleague_client": ("同事 {agent}（{team}）的客户", "a client of 同事 {agent} ({team})"),
    "not_in_scope": ("不在您的权限范围内：{id}", "Not in your scope: {id}"),
}


def t(key: str, lang: str = "zh", **kwargs: object) -> str:
    """The string ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``kwargs``.

    Parameters
    ----------
    key : str
        A key of :data:`STRINGS`; an unknown key raises KeyError (caught by the tests).
    lang : str
        ``zh`` or ``en``; anything else falls back to ``zh``.

    Examples
    --------
    >>> t("page_data", "en")
    'Data'
    >>> t("book_size", "zh", n=3)
    '名下客户 3 人'
    """
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**kwargs) if kwargs else text
