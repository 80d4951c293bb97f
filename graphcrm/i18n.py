"""Every label and message the app and the CLI show, in Chinese (zh) and English (en).

Domain terms follow docs/metrics.md (客户经营地图 client operation map, 动力圈 power circle,
客户信任度 trust, 客户分层 quadrant, 转介绍 referral, 客户渗透网 penetration network ...).
Use :func:`t` with a key; ``{name}`` placeholders are filled from keyword arguments.
:data:`CODES` turns the stored codes (``young_family``, ``behavioural``, ``MVC`` ...) into words;
:func:`code` looks one up. Phrases built from several parts (a tie with its direction, a warmth
level) are in :mod:`graphcrm.wording`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

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
    "page_orphans": ("孤儿单", "Orphans"),
    "page_visits": ("拜访计划", "Visit plan"),
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
        "业务员在中心；离中心越远，连接越难（连接距离）；圆越大，影响力越大。"
        "只标出最近和影响力最大的几位，其余鼠标悬停查看。",
        "The agent is at the centre; the farther out, the harder the connection (connection "
        "distance); a bigger circle means more influence. Only the nearest and most "
        "influential people are named; hover for the rest.",
    ),
    "max_people": ("最多显示人数", "People shown at most"),
    "open_person": ("查看此人", "Open a person"),
    "person_detail": ("人员详情", "Person"),
    "col_phone": ("手机号", "Mobile"), "col_id_number": ("身份证号", "ID number"),
    "reveal_numbers": ("显示完整号码（管理员，将记入审计）",
                       "Show full numbers (admin; recorded in the audit trail)"),
    "revealed_note": ("完整号码仅本次显示，已记入审计。",
                      "Full numbers shown this once; the view is audited."),
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
    "prospect_search": ("搜索准客户（姓名、手机尾号或编号）",
                        "Search a prospect (name, phone ending or id)"),
    "prospect_pick": ("选择目标", "Choose the target"),
    "search_hint": ("输入姓名、电话或编号开始搜索。", "Type a name, phone or id to search."),
    "no_match": ("没有找到与“{text}”匹配的人。", "Nobody matches “{text}”."),
    "path_n": ("路径 {n}", "Path {n}"),
    "warmth": ("温度 {level} {w:.2f}，连接距离 {d:.2f}",
               "warmth {level} {w:.2f}, connection distance {d:.2f}"),
    "tie_line": ("{a} → {b}：{tie}，强度 {s:.2f}，最近联系 {last}",
                 "{a} → {b}: {tie}, strength {s:.2f}, last contact {last}"),
    "opener": ("建议：请{who}把您介绍给{target}（{how}）。",
               "Suggested opener: ask {who} to introduce you to {target} ({how})."),
    "opener_last": ("您与{who}最近一次联系是 {last}。", " You last spoke with {who} on {last}."),
    "opener_via": ("先通过{first}联系上{who}。", " Reach {who} through {first} first."),
    "opener_org": ("建议：请{who}介绍{org}里合适的同事。",
                   "Suggested opener: ask {who} to introduce you to the right colleague at "
                   "{org}."),
    "opener_cold": (
        "这条路径偏冷（温度 {w:.2f}），请人引荐容易落空。{weak}也可以在{target}可能出席的活动上"
        "直接结识，或从您更熟的客户中另找引荐人。",
        "This path is cold (warmth {w:.2f}): an introduction request would likely fall flat. "
        "{weak} Or meet {target} at an event, or look for another introducer among your "
        "warmer clients.",
    ),
    "cold_weak_own": (
        "最弱的一环是您自己与{first_who}的关系（{sentence}，强度 {s:.2f}）：先拜访或电话服务"
        "{first_who}，关系加深后再请其引荐。",
        "The weak link is your own tie with {first_who} ({sentence}, strength {s:.2f}): visit "
        "or call {first_who} first, and ask for the introduction once that tie is warmer.",
    ),
    "cold_weak_link": (
        "最弱的一环在后面（{sentence}，强度 {s:.2f}）：可先请{first_who}确认{a}与{b}是否熟到"
        "可以引荐。",
        "The weak link is further along ({sentence}, strength {s:.2f}): ask {first_who} first "
        "whether {a} knows {b} well enough to introduce you.",
    ),
    "cold_weak_org": (
        "最弱的一环在后面（{sentence}，强度 {s:.2f}）：可先请{first_who}确认{person}在{org}"
        "是否还有熟到可以引荐的人。",
        "The weak link is further along ({sentence}, strength {s:.2f}): ask {first_who} first "
        "whether {person} still knows someone at {org} well enough to introduce you.",
    ),
    "same_org": ("{a}与{b}同在{org}任职", "{a} and {b} both work at {org}"),
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
    "settled_stored": ("已结算：{n} 行已存入 {store}", "settled: {n} lines stored in {store}"),
    "settled_nothing_new": ("（没有新行：每一行此前都已结算）",
                            " (nothing new: every line was settled before)"),
    "show_bridges": ("显示桥梁人物", "Show bridges"),
    "bridges_progress": ("正在计算桥梁人物：{done}/{total} 个起点",
                         "Computing bridges: {done}/{total} source people"),
    "bridges_sample": ("中介中心性：{k} 个起点（共 {n} 个节点；起点数等于节点数时为精确值）",
                       "Betweenness from {k} source people of {n} nodes (exact when equal)"),
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
    # command line: finding people and teams
    "col_id": ("编号", "ID"), "col_kind": ("类别", "Kind"), "col_city": ("城市", "City"),
    "col_age": ("年龄", "Age"), "col_serving_agent": ("服务业务员", "Serving agent"),
    "col_phone_tail": ("手机尾号", "Phone ends"), "col_agent_id": ("工号", "Agent ID"),
    "col_team": ("团队", "Team"), "col_branch": ("营业部", "Branch"),
    "col_region": ("区域", "Region"), "col_clients": ("客户数", "Clients"),
    "col_prospects": ("准客户数", "Prospects"), "col_agents": ("业务员数", "Agents"),
    "found_n": ("“{text}”：找到 {n} 人", "“{text}”: {n} people found"),
    "more_rows": ("……另有 {n} 行未显示（用 --limit 显示更多）",
                  "... {n} more rows not shown (--limit shows more)"),
    "ambiguous_name": ("“{text}”对应 {n} 人，请改用其中一人的编号：",
                       "'{text}' fits {n} people: give one of their ids:"),
    "no_such_person": ("没有编号或姓名为“{text}”的{what}",
                       "no {what} with the id or name '{text}'"),
    "no_such_team": ("没有名为“{text}”的团队", "no team named '{text}'"),
    "closest": ("；最接近的：{names}", "; closest: {names}"),
    "what_person": ("人", "person"), "what_agent": ("业务员", "agent"),
    "what_client": ("客户", "client"),
    "ring_hot": ("热 / 温 分界（温度 {w}）", "hot / warm (warmth {w})"),
    "ring_warm": ("温 / 冷 分界（温度 {w}）", "warm / cold (warmth {w})"),
    "ring_edge": ("最外圈：温度 {w}", "outer edge: warmth {w}"),
    "legend_size": ("圆越大影响力越大；虚线圈：温度分界", "bigger circle = more influence; "
                    "dashed rings: warmth bands"),
    "download_file": ("下载 {file}", "Download {file}"),
    "client_search": ("搜索客户（姓名、手机尾号或编号）",
                      "Search a client (name, phone ending or id)"),
    "col_stage_then": ("首单时阶段", "Stage at first policy"), "col_finding": ("结论", "Finding"),
    "col_needs": ("需求", "Needs"), "col_held": ("已有保障", "Held"),
    "col_missing": ("缺口", "Missing"), "col_protection_sum": ("保障型保额", "Protection sum"),
    "col_recommended_sum": ("建议保额", "Recommended sum"), "col_reasons": ("回访理由", "Reasons"),
    "chains_head": ("本期推荐链", "Referral chains this period"),
    "no_chains": ("{period} 没有推荐链得分。", "No referral chain earned points in {period}."),
    "level_points": ("第{level}级 {name} +{points}", "level {level} {name} +{points}"),
    "level_n": ("第{level}级推荐", "level-{level} referral"),
    "own_policy": ("本人保单", "own policy"), "points_n": ("{points} 积分", "{points} points"),
    "col_levels": ("层级", "Levels"), "col_first_policy": ("首张保单 · 被推荐人",
                                                         "First policy · referee"),
    "col_points_by_level": ("各级积分", "Points by level"), "col_points": ("积分", "Points"),
    "col_own_points": ("本人积分", "Own points"), "col_referral_points": ("推荐积分",
                                                                         "Referral points"),
    "col_lines": ("明细行数", "Lines"), "col_capped_lines": ("封顶行数", "Capped lines"),
    "col_level": ("级别", "Level"), "col_referee": ("被推荐人", "Referee"),
    "col_referrer": ("推荐人", "Referrer"), "col_policy": ("保单", "Policy"),
    "col_base_points": ("基础积分", "Base points"), "col_level_share": ("比例", "Share"),
    "col_date": ("日期", "Date"),
    "download_ledger": ("下载奖励明细 {file}", "Download the ledger {file}"),
    "rewards_top_rows": ("按积分从高到低显示前 {n} 项，共 {total} 项；"
                         "每一行明细都在下方的奖励明细 CSV 中。",
                         "Showing the {n} with the most points of {total}; every line is in "
                         "the ledger CSV below."),
    "rewards_top_drill": ("列表按积分从高到低列出前 {n} 位，共 {total} 位（有推荐链的在前）。",
                          "The list holds the {n} earners with the most points of {total} "
                          "(those with referral chains first)."),
    "hubs_caption": (
        "影响力：PageRank、动力圈、转介绍保费三项排名百分位的加权平均（100% 最高）；"
        "动力圈：直接关系的加权规模；"
        "转介绍覆盖：经其推荐链带来的人数；圈子以其中影响力最高的两人命名。",
        "Influence: weighted mean of the percentile ranks of PageRank, power circle and "
        "referral premium (100% = highest); power circle: "
        "weighted size of the direct ties; referral reach: people brought in down the person's "
        "referral chains; circles are named after their two most influential members."),
    "influence_legend": ("横轴：影响力区间；纵轴：人数。",
                         "Across: influence band; up: number of people."),
    "strength": ("关系强度", "tie strength"),
    "width_strength": ("线越粗关系越强；鼠标悬停看关系",
                       "thicker line = stronger tie; hover for the tie"),
    "choose": ("请选择", "Choose"),
    "pen_nobody": ("这个圈子里还没有其他客户或准客户。", "Nobody else is in this circle yet."),
    "pen_summary": ("**渗透情况**：圈子里 {people} 人，其中 {ours} 人已是我们的客户（{share}）。",
                    "**Penetration**: {people} people in the circle, {ours} of them already our "
                    "clients ({share})."),
    "pen_agents": ("服务业务员（人数）", "Serving agents (people)"),
    "pen_not_yet": ("尚未成交的 {n} 人（由近及远）", "Not yet our clients: {n} (nearest first)"),
    "and_n_more": (" 等，另有 {n} 人", " and {n} more"),
    "network_counts_of": ("显示 {nodes} 个节点（共 {total} 个），{edges} 条关系",
                          "Showing {nodes} of {total} nodes, {edges} ties"),
    "show_more": ("显示更多", "Show more"),
    "what": ("项目", "What"), "ties_of": ("关系：{tie}", "ties: {tie}"),
    "count_prospects": ("其中准客户", "of which prospects"),
    "count_interactions": ("互动记录", "interactions"),
    "count_merged": ("合并的重复身份", "merged duplicate identities"),
    "rewards_head": ("{period} 奖励明细：{lines} 行，共 {points} 积分，{n} 位客户；"
                     "{excluded} 条推荐未计入",
                     "reward ledger {period}: {lines} lines, {points} points to {n} clients, "
                     "{excluded} referrals excluded"),
    "points_note_long": ("奖励为服务积分和体验，绝不是现金：按合规要求禁止向客户返还保费。",
                         "Rewards are service points and experiences, never cash."),
    "rows_shown": ("表中显示最近的 {n} 人（共 {total} 人，CSV 含全部）",
                   "The table shows the nearest {n} of {total} people (the CSV has everyone)"),
    "choose_files": ("选择文件", "Choose files"),
    "upload_limits": ("CSV 或 XLSX，每个文件最大 200 MB；可一次选多个文件。",
                      "CSV or XLSX, up to 200 MB each; several files at once."),
    "age_n": ("{n} 岁", "age {n}"),
    "n_ties": ("经过 {n} 层关系", "{n} ties"), "last_contact": ("最近联系", "last contact"),
    "map_head": ("{name}（{id}）：可触达 {n} 人，按温度从热到冷",
                 "{name} ({id}): {n} people within reach, warmest first"),
    "map_legend": (
        "温度：热 ≥ {hot}，温 ≥ {warm}，其余为冷（0–1，沿途关系强度之积）；层数：经过几层关系；"
        "ABC：A 类客户贡献前 80% 保费，B 类 80%–95%，C 类其余。",
        "Warmth: hot ≥ {hot}, warm ≥ {warm}, else cold (0–1, the product of the tie strengths "
        "on the way); "
        "ties: how many steps away; ABC: A clients bring the top 80% of premium, B 80–95%, "
        "C the rest."),
    "bridges_head": ("桥梁人物（基于 {n} 个起点的介数）：",
                     "Bridges (betweenness over {n} sources):"),
    "col_betweenness": ("桥梁度", "Betweenness"),
    "gaps_none": ("业务员 {id} 截至 {date} 没有服务的客户",
                  "agent {id} serves no clients as of {date}"),
    "gaps_head": ("业务员 {id}：截至 {date} 共 {n} 位客户", "agent {id}: {n} clients as of {date}"),
    "stage_was": ("（原为{then}）", " (was {then})"),
    "needs": ("需求", "needs"), "held": ("已有", "held"),
    "missing_need": ("缺少{need}", "no {need}"),
    "circle_of": ("{names}的圈子", "circle of {names}"),
    # field work: orphan notices (SMS texts; placeholders filled by graphcrm.fieldwork)
    "notice_client": (
        "尊敬的{client}：您好！您的保单今后由业务员{agent}（电话 {agent_phone}）为您服务，"
        "近期将与您联系，如有需要请随时致电。",
        "Dear {client}, from now on your policies are looked after by your agent {agent} "
        "(phone {agent_phone}), who will contact you soon. Call any time you need help.",
    ),
    "notice_agent": (
        "{agent}您好：{month} 您新接收孤儿单客户 {count} 位：{clients}。"
        "请在 {due} 前完成首次拜访。",
        "Dear {agent}, in {month} you received {count} orphan clients: {clients}. "
        "Please make the first visit by {due}.",
    ),
    "notice_separator": ("、", ", "),
    # field work: orphans page
    "month": ("月份（YYYY-MM）", "Month (YYYY-MM)"),
    "bad_month": ("月份格式应为 YYYY-MM：{value}", "The month must be YYYY-MM: {value}"),
    "assign_date": ("分配日期", "Assignment date"),
    "orphans_list": ("孤儿单客户", "Orphan clients"),
    "orphans_count": ("共 {n} 位孤儿单客户（业务员已离职或无服务人员）",
                      "{n} orphan clients (their agent left, or they have none)"),
    "proposal": ("分配建议（附理由）", "Proposal with reasons"),
    "proposal_count": ("拟分配 {n} 位，暂不能分配 {m} 位",
                       "{n} proposed, {m} cannot be placed this month"),
    "approver": ("审批人工号（主管/经理）", "Approver id (supervisor or manager)"),
    "approve": ("批准并写入分配", "Approve and write the assignment"),
    "approver_needed": ("请先填写审批人工号。", "Enter the approver's id first."),
    "approved": ("已写入 {n} 条新的服务关系；原服务记录保留为历史。",
                 "{n} new SERVES ties written; the old ties stay as history."),
    "download_notices": ("下载通知短信（CSV）", "Download the notices (CSV)"),
    "followup": ("跟进：三次拜访", "Follow-up: the three visits"),
    "rollup_agents": ("按业务员汇总", "Per agent"),
    "rollup_teams": ("按团队汇总", "Per team"),
    # field work: visit plan page
    "week": ("周（YYYY-Www）", "Week (YYYY-Www)"),
    "bad_week": ("周的格式应为 YYYY-Www：{value}", "The week must be YYYY-Www: {value}"),
    "events_upload": ("公司活动文件（可选，列：日期、名称、区域）",
                      "Company events file (optional; columns date, name, region)"),
    "planned_count": ("本周已安排 {n} 项；{m} 位客户本周排不下。",
                      "{n} planned this week; {m} clients found no free time."),
    "highlight_note": ("★ 为第一象限 A 类客户（固定时间，每日重点）。",
                       "★ marks quadrant I A clients (fixed times, highlighted daily)."),
    "download_ics": ("下载日历（.ics）", "Download the calendar (.ics)"),
    "funnel": ("转介绍漏斗（名单→联系→见面→成交）",
               "Referral funnel (names → contacted → met → converted)"),
    "col_stage": ("经营阶段", "Stage"), "col_stage_evidence": ("阶段依据", "Stage evidence"),
    # field work: recording a visit (client detail)
    "log_visit": ("记录邀约/拜访", "Record an attempt or a visit"),
    "visit_type": ("类型", "Type"), "outcome": ("结果", "Outcome"),
    "visit_date": ("日期", "Date"), "rating": ("客户评分（-10..10，可空）",
                                              "Client rating (-10..10, optional)"),
    "note": ("备注", "Note"), "save": ("保存", "Save"),
    "saved": ("已记录。", "Recorded."),
    "already_saved": ("该记录已存在，未重复保存。", "Already recorded; nothing changed."),
    "not_written": ("{error}（未写入）", "{error} (nothing written)"),
    # field work: table headers and sentences (graphcrm.fieldwork.words)
    "col_client": ("客户", "Client"), "col_agent": ("业务员", "Agent"),
    "col_departed_agent": ("原业务员（已离职）", "Departed agent"),
    "col_supervisor": ("主管", "Supervisor"), "col_policies": ("有效保单", "Policies in force"),
    "col_premium": ("年缴保费", "Annual premium"),
    "col_orphaned_since": ("成为孤儿单日期", "Orphaned since"),
    "col_days_orphaned": ("孤儿单天数", "Days orphaned"),
    "col_new_agent": ("新业务员", "New agent"), "col_rule": ("分配规则", "Rule"),
    "col_reason": ("理由", "Reason"), "col_assigned": ("分配日期", "Assigned"),
    "col_visit": ("拜访", "Visit"), "col_purpose": ("目的", "Purpose"),
    "col_due": ("截止日期", "Due"), "col_done": ("完成日期", "Done on"),
    "col_attempts": ("邀约次数（已做/要求）", "Attempts (made/required)"),
    "col_rating": ("客户评分", "Client rating"), "col_visits": ("拜访数", "Visits"),
    "col_done_visits": ("已完成", "Done"), "col_overdue": ("已逾期", "Overdue"),
    "col_open": ("未到期", "Open"),
    "col_attempt_rate": ("邀约完成率", "Attempts made"),
    "col_mark": ("重点", "Key"), "col_day": ("日期", "Day"), "col_start": ("开始", "Start"),
    "col_end": ("结束", "End"), "col_slot_kind": ("方式", "How"),
    "col_experience": ("体验", "Experience"),
    "col_received": ("名单", "Names received"), "col_contacted": ("已联系", "Contacted"),
    "col_met": ("已见面", "Met"), "col_converted": ("已成交", "Converted"),
    "col_contact_rate": ("联系率", "Contact rate"), "col_meet_rate": ("见面率", "Meeting rate"),
    "col_convert_rate": ("成交率", "Conversion rate"),
    "nobody": ("无", "none"),
    "visit_n": ("第 {n} 次", "visit {n}"),
    "visit_purpose_1": ("保单服务、赠送礼品卡、建立关系", "policy service, gift card, build the "
                        "relationship"),
    "visit_purpose_2": ("需求分析：保障缺口，推荐产品（或低价卡单）",
                        "needs analysis: coverage gaps, recommend products (or a low-cost card "
                        "product)"),
    "visit_purpose_3": ("健康检查、定制方案（否则常规维护）",
                        "health check, tailored proposal (else routine maintenance)"),
    "why_team": ("原主管团队", "the supervisor's team"),
    "why_region": ("同区域（{region}）", "same region ({region})"),
    "why_nearest_region": ("就近区域 {near}（{region} 已满）",
                           "nearest region {near} ({region} full)"),
    "why_first_year": ("入职第一年的业务员优先", "first-year agent"),
    "why_connection": ("关系最近（{hops} 层，温度 {warmth}）：{path}",
                       "warmest connection ({hops} ties, warmth {warmth}): {path}"),
    "why_stranger": ("与客户尚无关系", "no existing connection"),
    "why_book": ("名下 {book} 位客户，本月已接收 {received}/{cap} 位孤儿单",
                 "book {book}, {received}/{cap} orphans this month"),
    "why_waiting": ("原主管团队本月已满，等待至 {deadline}",
                    "waiting for the supervisor's team (full this month) until {deadline}"),
    "why_no_room": ("本月团队、区域和就近区域都没有名额",
                    "no agent with room in the team, the region or the nearest regions this "
                    "month"),
    "slot_q1_fixed": ("第一象限 A 类：每周固定时间", "quadrant I A: fixed weekly time"),
    "slot_carried_over": ("上周 {day} 未拜访，顺延（{was}）",
                          "carried over: missed on {day} ({was})"),
    "slot_orphan_visit": ("孤儿单{visit}拜访，{state} {due}（邀约 {attempts}/{required}）",
                          "orphan visit {visit} {state} {due} ({attempts}/{required} attempts)"),
    "slot_state_overdue": ("已逾期，截止", "overdue since"),
    "slot_state_due": ("截止", "due"),
    "slot_before_event": ("第三象限 A 类：{date} 活动“{event}”前拜访",
                          "quadrant III A: before the event {event} on {date}"),
    "slot_q2_region": ("第二象限：{region} 区域拜访日", "quadrant II: {region} region day"),
    "slot_q4_contact": ("第四象限：每周固定联系时间", "quadrant IV: weekly contact time"),
    "slot_q4_no_room": ("第四象限：每周固定联系时间（本周已排满）",
                        "quadrant IV: weekly contact time (no room this week)"),
    "slot_gap": ("保障缺口：{finding}", "coverage gap: {finding}"),
    "invite_to": ("邀请参加“{event}”", "invite to {event}"),
    "key_experience": ("（关键体验）", " (key experience)"),
    "orphans_scope_note": ("只显示您所管团队的孤儿单；批准只写入这些客户。",
                           "Only your teams' orphans are shown; approving writes only these."),
    "approve_as": ("以 {user} 的身份批准", "Approving as {user}"),
    # field work: CLI human output (graphcrm.cli.fieldwork; --json stays English)
    "fw_none": ("（无）", "(none)"),
    "fw_more": ("……另有 {n} 行（--json 列出全部）", "... {n} more (use --json for all)"),
    "fw_orphans_head": ("截至 {date}：{n} 位孤儿单客户（业务员已离职或无服务人员）",
                        "{n} orphan clients as of {date} (their agent left, or they have none)"),
    "fw_assign_head": ("{month}：{n} 位孤儿单，拟分配 {got} 位（分配日期 {day}）",
                       "{month}: {n} orphans, {got} proposed (assignment date {day})"),
    "fw_applied": ("已由 {approver} 批准：新建服务关系 {n} 条；通知文件：{file}"
                   "（供短信网关使用，手机号未遮盖）",
                   "approved by {approver}: {n} new SERVES ties; notices: {file} (for the SMS "
                   "gateway, phone numbers unmasked)"),
    "fw_proposal_only": ("仅为建议：加 --apply --approver 工号 才会写入",
                         "proposal only: add --apply --approver ID to write it"),
    "fw_due_head": ("{week}（截至 {date}）本周待办拜访", "{week} (as of {date}): visits to act on"),
    "fw_calendar_head": ("{agent} {week}：已安排 {n} 项", "{agent} {week}: {n} planned"),
    "fw_no_time": ("另有 {n} 位客户本周排不下（--json 列出）",
                   "{n} more clients found no free time this week (--json lists them)"),
    "fw_ics_file": ("日历文件：{file}", "calendar file: {file}"),
    "fw_recorded": ("已记录：{agent} → {client}，{type}，{date}，{outcome}（{id}）",
                    "recorded: {agent} -> {client}, {type}, {date}, {outcome} ({id})"),
    "fw_already": ("该记录已存在，未重复记录：{id}", "already recorded, nothing changed: {id}"),
    "fw_stale": ("分析快照已过期，下次查询时重建", "the analysis snapshot is stale; the next "
                 "map/paths/hubs rebuilds it"),
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
    "admin_only": ("您的角色不能使用此页面（数据：仅管理员；孤儿单：主管和管理员）。",
                   "This page is not for your role (Data: admins; Orphans: managers and admins)."),
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


#: category -> stored code -> (zh, en): every code a person may read, in words
CODES: dict[str, dict[str, tuple[str, str]]] = {
    "label": {"Agent": ("业务员", "agent"), "Client": ("客户", "client"),
              "Organization": ("机构", "organization"), "Policy": ("保单", "policy")},
    "status": {"client": ("客户", "client"), "prospect": ("准客户", "prospect"),
               "active": ("在职", "active"), "departed": ("离职", "departed"),
               "in_force": ("有效", "in force"), "lapsed": ("失效", "lapsed"),
               "surrendered": ("已退保", "surrendered")},
    "tie": {"SERVES": ("服务", "serves"), "RELATIVE_OF": ("亲属", "relative"),
            "FRIEND_OF": ("朋友", "friend"), "COLLEAGUE_OF": ("同事", "colleague"),
            "WORKS_AT": ("任职", "works at"), "BUSINESS_TIE": ("商业往来", "business tie"),
            "REFERRED": ("转介绍", "referral")},
    "kind": {"spouse": ("配偶", "spouse"), "parent": ("父母", "parent"),
             "child": ("子女", "child"), "sibling": ("兄弟姐妹", "sibling"),
             "other": ("其他亲属", "other relative"), "customer": ("客户", "customer"),
             "supplier": ("供应商", "supplier"), "partner": ("合作伙伴", "partner"),
             "alliance": ("联盟", "alliance")},
    "trust": {"none": ("未建立", "none yet"), "perceived": ("感知信任", "perceived"),
              "emotional": ("情感信任", "emotional"), "behavioural": ("行为信任", "behavioural"),
              "distrust": ("不信任", "distrust")},
    "quadrant": {"cultivate": ("耕耘", "cultivate"), "pamper": ("宠爱", "pamper"),
                 "develop": ("开发", "develop"), "maintain": ("维系", "maintain")},
    "tier": {"MVC": ("最有价值客户", "most valuable"), "MGC": ("最具成长性客户", "most growable"),
             "LVC": ("低价值客户", "low value"), "BZ": ("负价值客户", "below zero")},
    "abc": {"A": ("A 类（保费前 80%）", "A (top 80% of premium)"),
            "B": ("B 类（80%–95%）", "B (80–95% of premium)"),
            "C": ("C 类（其余）", "C (the rest)")},
    "stage": {"single": ("单身", "single"), "couple": ("两人世界", "couple"),
              "young_family": ("幼儿家庭", "young family"),
              "mature_family": ("成熟家庭", "mature family"),
              "retired": ("退休", "retired"), "dependent": ("被抚养人", "dependant"),
              "unknown": ("不详", "unknown")},
    "finding": {"no_cover": ("无有效保障", "no cover in force"),
                "fits_but_changed": ("保障合适但需求已变", "cover fits, needs changed"),
                "fits_unchanged": ("保障合适、需求未变", "cover fits, needs unchanged"),
                "wrong_products": ("产品不对需求", "products miss the need"),
                "too_low": ("保额/保费偏低", "sum insured too low"),
                "large_but_other": ("保额大但保的是其他需求", "large cover, other needs")},
    "need": {"accident": ("意外险", "accident cover"),
             "critical_illness": ("重疾险", "critical-illness cover"),
             "medical": ("医疗险", "medical cover"), "own_life": ("本人寿险", "own life cover"),
             "life": ("寿险", "life cover"), "annuity": ("年金", "annuity"),
             "pension": ("养老金", "pension"), "savings": ("储蓄/理财", "savings"),
             "education": ("教育金", "education fund"),
             "parents_medical": ("父母医疗", "parents' medical cover"),
             "parents_pension": ("父母养老", "parents' pension"),
             "child_health": ("子女健康险", "child's health cover"),
             "child_accident": ("子女意外险", "child's accident cover"),
             "grandchild_education": ("孙辈教育金", "grandchildren's education")},
    "exclusion": {"self_referral": ("自己推荐自己", "referred themself"),
                  "shared_identity": ("推荐人与被推荐人是同一人", "same person both ends"),
                  "undated": ("推荐没有日期", "referral has no date"),
                  "already_client": ("被推荐时已是客户", "already a client when referred"),
                  "referral_after_policy": ("推荐晚于首张保单", "referral after the first policy"),
                  "cycle": ("推荐形成循环", "referral cycle"),
                  "not_earliest": ("已有更早的推荐人", "referred earlier by someone else")},
    "reason": {"stage_changed": ("首张保单以来人生阶段已变化，需求随之改变",
                                 "the life stage moved since the first policy"),
               "sum_too_low": ("保障型保额低于收入的建议倍数，应提高保额",
                               "protection sum insured below the advised multiple of income"),
               "stage_unknown": ("人生阶段不详：请补充出生日期或家庭关系",
                                 "life stage unknown: record a birth date or family ties"),
               "lapsed_cover": ("有失效保单：建议复效或替换",
                                "a lapsed policy: reinstate or replace"),
               "rebuy_window": ("首张保单在加保窗口期内，客户通常此时再次购买",
                                "first policy within the re-buy window: clients usually buy again"),
               "no_cover": ("没有有效保单：本阶段的需求都未覆盖",
                            "no in-force cover: every need of the stage is open"),
               "fits_but_changed": ("保障合适但需求已变", "cover fits but needs have changed"),
               "fits_unchanged": ("保障合适、需求未变", "cover fits and needs are unchanged"),
               "wrong_products": ("所选产品没有覆盖核心需求",
                                  "the products do not meet the core needs"),
               "too_low": ("保额/保费偏低", "sum insured / premium too low"),
               "large_but_other": ("保额大，但保的是其他需求", "large cover, but for other needs")},
    "interaction": {"visit": ("拜访", "visit"), "call": ("电话", "call"),
                    "message": ("消息", "message"), "social_like": ("点赞", "liked a post"),
                    "social_comment": ("评论", "commented"),
                    "share_post": ("转发", "shared a post"),
                    "private_talk": ("私下交流", "private talk"),
                    "private_comment": ("私人动态互动", "private comment"),
                    "event": ("参加活动", "event"), "event_family": ("携家人参加活动",
                                                                     "event with family"),
                    "enquiry": ("咨询", "enquiry"), "purchase": ("购买", "purchase"),
                    "routine_service": ("日常服务", "routine service"),
                    "periodic_visit": ("定期拜访", "periodic visit"),
                    "general_event": ("普通活动", "general event"),
                    "premium_event": ("高端活动", "premium event"),
                    "life_service": ("生活服务", "life service"),
                    "tailor_made": ("量身定制", "tailor-made"),
                    "complaint": ("投诉", "complaint"), "holds": ("持有保单", "holds policy")},
    "line_status": {"paid": ("已计入", "paid"), "capped": ("封顶", "capped"),
                    "already_paid": ("已在前期计入", "paid earlier"),
                    "same_person": ("同一人，不计分", "same person, no points")},
    "orphan_rule": {"team": ("原主管团队", "supervisor's team"), "region": ("同区域", "region"),
                    "nearest_region": ("就近区域", "nearest region"),
                    "waiting_for_team": ("等待原团队", "waiting for the team"),
                    "no_room": ("本月无名额", "no room this month")},
    "visit_status": {"done": ("已完成", "done"), "overdue": ("已逾期", "overdue"),
                     "due": ("待拜访", "due"), "planned": ("未到期", "planned")},
    "outcome": {"done": ("完成", "done"), "declined": ("拒绝", "declined"),
                "no_answer": ("未接通", "no answer"), "rescheduled": ("改期", "rescheduled")},
    "slot_kind": {"visit": ("拜访", "visit"), "contact": ("电话/消息", "call or message")},
    "roman": {"I": ("第一象限", "quadrant I"), "II": ("第二象限", "quadrant II"),
              "III": ("第三象限", "quadrant III"), "IV": ("第四象限", "quadrant IV")},
    "band": {"low": ("低", "low"), "middle": ("中", "middle"), "high": ("高", "high")},
    "gender": {"M": ("男", "male"), "F": ("女", "female")},
    "warmth": {"hot": ("热", "hot"), "warm": ("温", "warm"), "cold": ("冷", "cold")},
}


def code(category: str, value: object, lang: str = "zh") -> str:
    """A stored code in words (``code("stage", "young_family", "zh")`` -> ``幼儿家庭``).

    A missing value (None, NaN, empty) is ``—``; a code the table lacks is shown with its
    underscores as spaces, never as an identifier.
    """
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return "—"
    entry = CODES.get(category, {}).get(str(value))
    if entry is None:
        return str(value).replace("_", " ").lower() if str(value).isupper() or "_" in str(
            value) else str(value)
    return entry[1] if lang == "en" else entry[0]


def language_from_locale(environ: Mapping[str, str] | None = None) -> str:
    """``zh`` when the user's locale is Chinese (``$GRAPHCRM_LANG``, then ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``), else ``en``."""
    env = os.environ if environ is None else environ
    explicit = env.get("GRAPHCRM_LANG", "")
    if explicit in LANGUAGES:
        return explicit
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
