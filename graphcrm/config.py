"""Settings and every tunable constant, in one place.

Defaults are the values documented in ``docs/config.md``. A user overrides any of them with a
TOML file given by ``--config FILE`` or the ``GRAPHCRM_CONFIG`` environment variable, whose
tables mirror the dataclasses below::

    [metrics]
    max_hops = 5

    [rewards]
    level_shares = [0.10, 0.05, 0.02]

Unknown keys are an error (a typo must not be silently ignored).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Environment variables.
ENV_STORE = "GRAPHCRM_STORE"
ENV_CONFIG = "GRAPHCRM_CONFIG"
ENV_NEO4J_URI = "GRAPHCRM_NEO4J_URI"
ENV_NEO4J_USER = "GRAPHCRM_NEO4J_USER"
ENV_NEO4J_PASSWORD = "GRAPHCRM_NEO4J_PASSWORD"
ENV_NEO4J_DATABASE = "GRAPHCRM_NEO4J_DATABASE"

#: The embedded store used when neither --store nor GRAPHCRM_STORE is given.
DEFAULT_STORE = "graphcrm.db"


@dataclass
class IngestSettings:
    #: rows per executemany call inside a file's single transaction
    batch_rows: int = 50_000
    #: files with more rows than this show a progress bar
    progress_min_rows: int = 20_000
    #: rejects file written next to the current directory unless --rejects is given
    rejects_file: str = "graphcrm-rejects.csv"
    #: mobile numbers: 11 digits starting with 1 and a second digit 3-9
    phone_pattern: str = r"^1[3-9]\d{9}$"
    #: re-runs: a file with at least this share of its table's stored rows is compared with the
    #: stored rows in pandas (one read) and only new or changed rows are written; smaller files
    #: are upserted row by row (the store skips identical rows either way)
    diff_min_share: float = 0.25
    #: re-runs and updates: when a file names at least this many ids not seen yet in the job,
    #: every stored node id is read in one scan instead of asking the store about each id
    #: (a temporary table of the ids: ~10x slower per id for an edge list of 10^5 rows)
    known_ids_scan_min: int = 20_000
    #: a first load into an empty store whose input files add up to at least this many bytes
    #: checks the next file in a second process while this one writes (0 = always, a negative
    #: value = never; docs/benchmarks-ingest.md)
    pipeline_min_bytes: int = 64_000_000
    #: re-runs: a changed file whose last applied version is noted in the store (a hash of each
    #: of its rows) has only its new or changed rows checked and written; the result is the same
    #: as checking every row (false = check every row; docs/benchmarks-ingest.md)
    rerun_changed_rows_only: bool = True
    #: CSV files from this size on are parsed by Arrow's multithreaded reader (smaller ones,
    #: and any file Arrow refuses, row by row in Python: faster to start, same result)
    arrow_min_bytes: int = 1_000_000
    #: a field longer than this (bytes of UTF-8) rejects its row: a runaway quote or a pasted
    #: document, never a real id, name or date
    max_field_bytes: int = 65_536
    #: a CSV file whose last row has no line break after it was probably cut off while being
    #: copied: that row is rejected instead of stored with a half value
    reject_unterminated_last_row: bool = True
    #: encoding detection (charset-normalizer): when the runner-up's "chaos" score is within
    #: this of the best one's, the file is refused with both candidates named
    encoding_margin: float = 0.05
    #: birth, hire and interaction dates may lie at most this many days after today
    max_future_days: int = 0
    #: a policy may start at most this many days after today
    max_policy_start_days_ahead: int = 366
    #: birth dates before 1 January of this year are rejected
    min_birth_year: int = 1900
    #: SQLite page cache (KiB) while a bulk load builds its indexes: a small cache makes
    #: SQLite sort in cache-sized runs spilled to a temporary file and merged, which took
    #: half the CPU time and 50 MiB less memory than one in-memory sort in the store's
    #: 256 MiB cache (docs/benchmarks-ingest.md, "Narrow files")
    bulk_sort_cache_kib: int = 2_000


@dataclass
class Neo4jSettings:
    uri: str = ""
    user: str = "neo4j"
    password: str = ""
    database: str = "neo4j"
    #: rows per UNWIND transaction
    batch_rows: int = 5_000
    #: attempts for a failing batch before the job stops
    max_retries: int = 3
    #: wait before the 2nd attempt of a failing batch; doubles for each further attempt
    retry_backoff_seconds: float = 1.0
    #: give up connecting (TCP connect and Bolt handshake) after this many seconds
    connect_timeout_seconds: float = 15.0
    #: name of the GDS in-memory graph projected by the scaling path (docs/scaling.md)
    gds_graph_name: str = "graphcrm"
    #: run whole-graph metrics inside Neo4j with GDS instead of NetworkX (docs/scaling.md)
    use_gds: bool = False


@dataclass
class MetricSettings:
    """Relationship strength, connection distance and influence (DESIGN.md)."""

    #: base strength by relationship type, or "TYPE:kind" where the kind matters
    base_strength: dict[str, float] = field(default_factory=lambda: {
        "RELATIVE_OF:spouse": 0.95,
        "RELATIVE_OF:parent": 0.85,
        "RELATIVE_OF:child": 0.85,
        "RELATIVE_OF:sibling": 0.75,
        "RELATIVE_OF:other": 0.55,
        "FRIEND_OF": 0.60,
        "REFERRED": 0.60,
        "COLLEAGUE_OF": 0.45,
        "WORKS_AT": 0.30,
        "BUSINESS_TIE": 0.35,
        "SERVES": 0.50,
    })
    #: agent-client tie strength by trust level (replaces SERVES base when higher)
    trust_strength: dict[str, float] = field(default_factory=lambda: {
        "none": 0.30, "perceived": 0.55, "emotional": 0.75, "behavioural": 0.90,
    })
    #: each interaction in the recent window adds this much strength (capped at max_strength)
    interaction_bonus: float = 0.02
    recent_days: int = 180
    #: strength halves every this many days since the latest dated evidence of the tie
    #: (interaction, policy start, relationship start), for every tie type
    decay_half_life_days: float = 365.0
    #: a tie is fully decayed when its decay factor reaches this floor (0.25 = two half-lives
    #: without evidence); older ties keep floor x their base strength
    decay_floor: float = 0.25
    #: age in days assumed for a tie with no dated evidence at all; negative (the default) =
    #: fully decayed (decay_floor), so an undated tie is never warmer than a dated one
    undated_age_days: float = -1.0
    min_strength: float = 0.05
    max_strength: float = 1.0
    #: scale for relationship `confidence` column: s *= confidence ** confidence_power
    confidence_power: float = 1.0
    max_hops: int = 4
    top_k_paths: int = 3
    pagerank_alpha: float = 0.85
    pagerank_tol: float = 1e-10
    pagerank_max_iter: int = 200
    #: bridges: exact betweenness (every node a source) up to this many nodes
    betweenness_exact_max_nodes: int = 2_000
    #: above it, sampled sources: work budget / ties, kept within [min_samples, samples]
    betweenness_work_budget: int = 10_000_000
    betweenness_samples: int = 500
    betweenness_min_samples: int = 16
    #: threads NetworKit's sampled betweenness runs the sources on (OpenMP; 1 = bit-identical
    #: values on every run, more = the same sources, sums in another order: equal to ~1e-15)
    betweenness_threads: int = 2
    #: the sampled sources run in about this many batches, one progress step each
    betweenness_progress_steps: int = 10
    community_seed: int = 42
    community_resolution: float = 1.0
    hubs_top: int = 20
    #: reference date (YYYY-MM-DD) for recency and decay; "" = the latest interaction date
    as_of: str = ""
    #: influence score = weighted sum of percentile ranks of these measures
    influence_weights: dict[str, float] = field(default_factory=lambda: {
        "pagerank": 0.5, "power_circle": 0.3, "referral_premium": 0.2,
    })
    #: warm-path search gives up after expanding this many partial paths (keeps the best found)
    path_max_expansions: int = 200_000
    #: warm paths on a graph of at most path_whole_graph_max_nodes nodes search the whole graph
    #: (with a SciPy Dijkstra bound) once the candidate balls hold more than
    #: path_whole_graph_share of its nodes: on a small, dense network the balls are most of the
    #: graph and cutting them out costs more than the search. How a query searches, not what
    #: the analysis snapshot holds: left out of ``repr`` and with it the snapshot's key
    path_whole_graph_max_nodes: int = field(default=20_000, repr=False)
    path_whole_graph_share: float = field(default=0.25, repr=False)
    #: policy statuses that are behavioural-trust evidence ("has bought") for the agent who
    #: wrote the policy (the servicing agent when the writer is blank): a lapsed or
    #: surrendered policy was still bought
    purchase_evidence_statuses: tuple[str, ...] = ("in_force", "lapsed", "surrendered")
    #: warmth (0-1, the product of the tie strengths on the way) at or above which a person or
    #: a path is called hot (热); at or above warmth_warm warm (温); below it cold (冷). Warm
    #: path openers are suggested only from warmth_warm up.
    warmth_hot: float = 0.5
    warmth_warm: float = 0.2
    #: trust level each interaction type is evidence for (docs/metrics.md trust table; model.py)
    trust_evidence: dict[str, str] = field(default_factory=lambda: {
        "visit": "perceived", "call": "perceived", "message": "perceived",
        "social_like": "perceived", "social_comment": "perceived", "share_post": "perceived",
        "event": "perceived", "private_talk": "emotional", "private_comment": "emotional",
        "event_family": "emotional", "enquiry": "behavioural", "purchase": "behavioural",
        "routine_service": "perceived", "periodic_visit": "perceived",
        "general_event": "perceived", "premium_event": "emotional", "life_service": "emotional",
        "tailor_made": "emotional",
    })


@dataclass
class TierSettings:
    """Ability x trust quadrant, value tiers and ABC (docs/metrics.md, tiers)."""

    #: asset bands counted as high ability
    high_ability_bands: tuple[str, ...] = ("high",)
    #: trust levels counted as high trust
    high_trust_levels: tuple[str, ...] = ("emotional", "behavioural")
    #: ABC: A = clients making up the top `abc_a_share` of premium, B up to `abc_b_share`
    abc_a_share: float = 0.80
    abc_b_share: float = 0.95
    #: value tiers: percentile of the value score
    mvc_percentile: float = 0.90
    mgc_percentile: float = 0.60
    lvc_percentile: float = 0.20
    #: value score weights: profit (premium), influence, loyalty (tenure/trust), potential
    value_weights: dict[str, float] = field(default_factory=lambda: {
        "profit": 0.4, "influence": 0.25, "loyalty": 0.2, "potential": 0.15,
    })
    #: age band of the most re-developable clients
    prime_age_low: int = 26
    prime_age_high: int = 45
    #: potential: premium below this share of the income band's annual income leaves headroom
    premium_income_ratio: float = 0.10
    #: loyalty: tenure (years since the first policy) counted in full at this many years
    tenure_full_years: float = 10.0
    #: experience plan per quadrant (docs/metrics.md): √ give, ☆ key experience, ◎ case by
    #: case, × not
    experiences: tuple[str, ...] = (
        "routine_service", "periodic_visit", "general_event", "premium_event", "life_service",
        "tailor_made",
    )
    experience_cost: tuple[str, ...] = ("very low", "low", "medium", "high", "very high",
                                        "extreme")
    experience_plan: dict[str, str] = field(default_factory=lambda: {
        "develop": "√√◎×××", "maintain": "√☆☆◎××", "cultivate": "√√☆√◎×", "pamper": "√√×√☆☆",
    })


@dataclass
class NeedsSettings:
    """Life stage and coverage gaps (docs/metrics.md, life stage and coverage gaps)."""

    retirement_age: int = 60
    #: below this age a person is a dependent (stage "dependent": covered through the parents)
    adult_age: int = 18
    #: a household child under this age makes a 'young family' (三口之家); when every child is
    #: this age or older the family is 'mature' (成熟家庭: the children have grown up)
    young_child_max_age: int = 18
    #: recommended sum insured as a multiple of annual income, by income band
    income_by_band: dict[str, float] = field(default_factory=lambda: {
        "low": 60_000.0, "middle": 150_000.0, "high": 400_000.0,
    })
    sum_insured_income_multiple: float = 5.0
    #: clients usually buy again within this many years of their first policy
    rebuy_window_years: int = 3
    #: priority needs by life stage, in order (docs/metrics.md); codes are keys of need_categories
    stage_needs: dict[str, list[str]] = field(default_factory=lambda: {
        "single": ["accident", "critical_illness", "parents_medical", "pension"],
        "couple": ["critical_illness", "accident", "savings", "parents_pension"],
        "young_family": ["own_life", "critical_illness", "child_health", "child_accident",
                         "education", "savings", "pension"],
        "mature_family": ["medical", "critical_illness", "accident", "pension", "savings"],
        "retired": ["medical", "savings", "grandchild_education", "accident"],
    })
    #: need -> "whom:category|category": whom is self, child, parent or any (held by the client).
    #: Critical illness (a lump sum on diagnosis) is not medical (hospital) cover.
    need_categories: dict[str, str] = field(default_factory=lambda: {
        "accident": "self:accident",
        "critical_illness": "self:critical_illness",
        "medical": "self:medical",
        "own_life": "self:life",
        "pension": "self:annuity",
        "savings": "self:savings|annuity",
        "parents_medical": "parent:medical",
        "parents_pension": "parent:annuity",
        "child_health": "child:critical_illness|medical",
        "child_accident": "child:accident",
        "education": "child:education",
        "grandchild_education": "any:education",
    })
    #: high income moves these needs up, right after the first need (education alone does not)
    high_income_promote: tuple[str, ...] = ("savings", "parents_pension")
    #: average income puts these protection needs first
    protection_needs: tuple[str, ...] = (
        "accident", "critical_illness", "medical", "own_life", "child_health", "child_accident",
    )
    #: the first this-many needs of the stage are the core ones (findings 3 and 5)
    core_needs: int = 2
    #: categories whose sum insured counts as protection for the 'too low' test
    protection_categories: tuple[str, ...] = ("life", "critical_illness", "accident")


@dataclass
class RewardSettings:
    """Chain-referral rewards (CVE), DESIGN.md."""

    #: points per unit of a client's own first-year premium
    own_points_per_premium: float = 0.01
    #: share of the referee's first-year premium points earned per level above
    level_shares: tuple[float, ...] = (0.10, 0.05, 0.02)
    #: at most this many points per client per period
    cap_per_client_per_period: float = 5_000.0
    #: policies with these statuses earn no points
    excluded_statuses: tuple[str, ...] = ("surrendered",)


@dataclass
class OrphanSettings:
    """Orphan-client assignment and the three-visit plan (DOMAIN.md, docs/fieldwork.md)."""

    #: at most this many orphans per agent per calendar month (the material says 3-6),
    #: counting those the agent already received that month
    cap_per_agent_month: int = 5
    #: agents hired less than this many days before the assignment date are "first-year"
    first_year_days: int = 365
    #: the departed agent's supervisor's team has this many days from the departure to take
    #: an orphan; after that an orphan the team has no room for goes to the region
    team_deadline_days: int = 30
    #: nearest regions, in order, for an orphan neither the team nor the region can take
    nearest_regions: dict[str, list[str]] = field(default_factory=lambda: {
        "华北": ["东北", "华东", "华中", "西北"], "东北": ["华北", "华东"],
        "华东": ["华中", "华北", "华南"], "华南": ["华中", "华东", "西南"],
        "华中": ["华东", "华南", "华北", "西南", "西北"], "西南": ["华南", "华中", "西北"],
        "西北": ["华北", "西南", "华中"],
    })
    #: longest chain of ties (1-3) searched for an agent's existing connection to an orphan
    connection_max_hops: int = 3
    #: visit 1 is due this many days after the assignment date T
    first_visit_days: int = 15
    #: visit 2 is due this many months after visit 1 (its date if done, else its due date)
    second_visit_months: int = 1
    #: visit 3 is due this many months after visit 2
    third_visit_months: int = 1
    #: least invitation attempts per visit (visit 1, 2, 3)
    min_attempts: tuple[int, int, int] = (4, 3, 3)


@dataclass
class VisitSettings:
    """Recording attempts and visits (``graphcrm visits log``) and what counts (fieldwork.md)."""

    #: outcomes a record may carry; Chinese spellings in ``outcome_synonyms``
    outcomes: tuple[str, ...] = ("done", "declined", "no_answer", "rescheduled")
    outcome_synonyms: dict[str, str] = field(default_factory=lambda: {
        "完成": "done", "已拜访": "done", "拒绝": "declined", "未接通": "no_answer",
        "无回应": "no_answer", "改期": "rescheduled",
    })
    #: a record of one of these outcomes and of a `visit_types` type is a visit that happened
    success_outcomes: tuple[str, ...] = ("done",)
    #: interaction types that count as an invitation attempt for the three-visit plan
    attempt_types: tuple[str, ...] = (
        "visit", "call", "message", "routine_service", "periodic_visit", "general_event",
        "premium_event", "life_service", "tailor_made",
    )
    #: interaction types that are a visit (when the outcome is a success)
    visit_types: tuple[str, ...] = (
        "visit", "routine_service", "periodic_visit", "general_event", "premium_event",
        "life_service", "tailor_made",
    )


@dataclass
class CalendarSettings:
    """The weekly visit calendar (``graphcrm calendar``, fieldwork.md)."""

    #: working days of the week planned (1 = Monday only ... 7 = every day)
    workdays: int = 5
    #: visit start times per working day
    visit_times: tuple[str, ...] = ("09:30", "11:00", "14:00", "15:30")
    visit_minutes: int = 60
    #: the ability x trust quadrants numbered as the material does (I gets fixed times first)
    quadrant_numbers: dict[str, int] = field(default_factory=lambda: {
        "pamper": 1, "cultivate": 2, "develop": 3, "maintain": 4,
    })
    #: ABC classes planned per quadrant number
    abc_per_quadrant: dict[str, list[str]] = field(default_factory=lambda: {
        "1": ["A"], "2": ["A", "B"], "3": ["A"], "4": ["A", "B"],
    })
    #: quadrant III clients are visited this many days before a company event (nearest first)
    days_before_event: tuple[int, ...] = (2, 3)
    #: quadrant IV clients: a fixed weekly contact (call/message) between these times on a
    #: working day fixed per client (from its id), this many minutes each
    contact_time: str = "17:00"
    contact_until: str = "19:00"
    contact_minutes: int = 5


@dataclass
class AppSettings:
    #: most nodes the penetration network draws before it says it capped the view
    max_network_nodes: int = 300
    #: nodes the penetration network draws at first (the nearest; "show more" adds more)
    network_first_nodes: int = 60
    #: people labelled by name on the operation map (the nearest / most influential)
    opmap_labels: int = 15
    #: people the operation map draws at first (the nearest; the page lets the user raise it)
    opmap_people: int = 150
    #: rows the rewards page lists in each of its chains, totals and ledger tables and in its
    #: drill-down (most points first; the ledger CSV download has every line). Display only,
    #: so left out of ``repr`` and with it the analysis snapshot's key: changing it does not
    #: make the saved snapshot stale
    rewards_rows: int = field(default=1_000, repr=False)
    default_language: str = "zh"


@dataclass
class AccessSettings:
    #: a signed-in app session ends after this many minutes without a click
    session_idle_minutes: float = 30.0
    #: failed sign-ins of one user name in a row before it is throttled
    max_failed_signins: int = 5
    #: the first wait after max_failed_signins failures; it doubles with every further failure
    lockout_seconds: float = 60.0
    #: the longest wait between sign-in attempts of a throttled user name
    lockout_max_seconds: float = 3600.0
    #: shortest password `graphcrm users` accepts
    min_password_length: int = 10
    #: users and the audit trail of a Neo4j store live in this SQLite file (an embedded store
    #: keeps them in its own file); relative paths are relative to the working directory
    side_file: str = "graphcrm-access.db"


@dataclass
class Settings:
    ingest: IngestSettings = field(default_factory=IngestSettings)
    neo4j: Neo4jSettings = field(default_factory=Neo4jSettings)
    metrics: MetricSettings = field(default_factory=MetricSettings)
    tiers: TierSettings = field(default_factory=TierSettings)
    needs: NeedsSettings = field(default_factory=NeedsSettings)
    rewards: RewardSettings = field(default_factory=RewardSettings)
    orphans: OrphanSettings = field(default_factory=OrphanSettings)
    visits: VisitSettings = field(default_factory=VisitSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    app: AppSettings = field(default_factory=AppSettings)
    access: AccessSettings = field(default_factory=AccessSettings)


class ConfigError(ValueError):
    """A configuration file that cannot be used."""


def _merge(obj: Any, data: dict[str, Any], file: str, prefix: str = "") -> Any:
    """``obj`` with the values of ``data``; errors name the file and the key apart
    (``bad.toml: metrics.max_hops: expected a number``)."""
    names = {f.name: f for f in dataclasses.fields(obj)}
    updates: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(f"{file}: {where}: unknown setting (known in "
                              f"{prefix.rstrip('.') or 'the file'}: {', '.join(names)})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: {where}: expected a table ([{where}])")
            updates[key] = _merge(current, value, file, f"{where}.")
        elif isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: {where}: expected a table")
            updates[key] = {**current, **value}
        elif isinstance(current, tuple):
            if not isinstance(value, list):
                raise ConfigError(f"{file}: {where}: expected a list, got {value!r}")
            updates[key] = tuple(value)
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{file}: {where}: expected true or false, got {value!r}")
            updates[key] = value
        elif isinstance(current, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{file}: {where}: expected a number, got {value!r}")
            if isinstance(current, int) and not isinstance(value, int):
                raise ConfigError(f"{file}: {where}: expected a whole number, got {value!r}")
            updates[key] = type(current)(value)
        elif isinstance(current, str):
            if not isinstance(value, str):
                raise ConfigError(f"{file}: {where}: expected text, got {value!r}")
            updates[key] = value
        else:
            updates[key] = value
    return dataclasses.replace(obj, **updates)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Defaults, overridden by the TOML file at ``path`` or ``$GRAPHCRM_CONFIG`` if set."""
    path = path or os.environ.get(ENV_CONFIG)
    settings = Settings()
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {p}") from exc
        except IsADirectoryError as exc:
            raise ConfigError(f"{p}: is a folder, not a config file") from exc
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read the config file ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{p}: not a text file (a config file is UTF-8 TOML)") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
        settings = _merge(settings, data, str(p))
    # Neo4j credentials come from the environment, never from the command line.
    neo = settings.neo4j
    settings.neo4j = dataclasses.replace(
        neo,
        uri=os.environ.get(ENV_NEO4J_URI, neo.uri),
        user=os.environ.get(ENV_NEO4J_USER, neo.user),
        password=os.environ.get(ENV_NEO4J_PASSWORD, neo.password),
        database=os.environ.get(ENV_NEO4J_DATABASE, neo.database),
    )
    return settings


def store_location(store: str | None = None) -> str:
    """The store URL or path: ``--store``, then ``$GRAPHCRM_STORE``, then ``graphcrm.db``."""
    return store or os.environ.get(ENV_STORE) or DEFAULT_STORE


def settings_dict(settings: Settings | None = None, *, include_secrets: bool = False
                  ) -> dict[str, Any]:
    """The settings as plain data (tuples as lists), the Neo4j password masked by default."""
    data = dataclasses.asdict(settings or Settings())
    if not include_secrets and data["neo4j"].get("password"):
        data["neo4j"]["password"] = "********"
    return data


def settings_toml(settings: Settings | None = None) -> str:
    """The settings as a TOML file a user can copy and edit (see ``graphcrm config``)."""
    import tomli_w

    return tomli_w.dumps(settings_dict(settings))
