"""The large-context response: a database schema snapshot of 500 KB and more, then an updated one."""

from __future__ import annotations

import random
from typing import Final

from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_steps import Builder, evolve

# -- a 500 KB+ snapshot --------------------------------------------------------------------------------------------

_DOMAINS: Final = ("user_management", "billing", "analytics", "agent_ops")
_COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
    ("id", "uuid", "primary key used for unique row identification across all foreign references"),
    ("name", "varchar(255)", "human-readable display name, indexed for full-text search with pg_trgm"),
    ("status", "varchar(32)", "lifecycle state machine value; transitions are enforced by a trigger"),
    ("created_at", "timestamptz", "creation time in UTC, set by the database default"),
    ("updated_at", "timestamptz", "last modification time, maintained by the audit trigger"),
    ("value", "numeric(12,2)", "monetary or metric value in the owning domain's base unit"),
    ("ref_id", "uuid", "foreign reference to the parent entity in a neighbouring domain"),
    ("metadata", "jsonb", "free-form attributes; keys are validated by the application layer"),
    ("tenant_id", "uuid", "owning tenant; every query is scoped by row-level security on it"),
    ("external_id", "varchar(128)", "identifier in the upstream system of record, unique per tenant"),
    ("priority", "smallint", "scheduling priority from 0 (lowest) to 9 (highest)"),
    ("score", "double precision", "model-computed relevance score, recomputed nightly"),
    ("tags", "text[]", "denormalized labels used by the search index and saved filters"),
    ("deleted_at", "timestamptz", "soft-delete marker; rows are purged 90 days after it is set"),
    ("region", "varchar(16)", "data residency region the row must stay in"),
    ("version", "integer", "optimistic concurrency counter incremented on every update"),
    ("owner_id", "uuid", "user that owns the row; drives notification routing"),
    ("checksum", "bytea", "content hash used to detect drift against the source of truth"),
)
_INDEX_TYPES: Final = ("btree", "hash", "gin", "brin")
_STATUSES: Final = ("active", "inactive", "pending", "archived")


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def schema_snapshot(rng: random.Random, tables_per_domain: int = 16) -> JsonObject:
    """A realistic production schema (64 tables, ~600 KB of JSON), shaped like the recorded one."""
    tables: list[JsonValue] = []
    for d, domain in enumerate(_DOMAINS):
        for t in range(tables_per_domain):
            name = f"{domain}_table_{t}"
            n_cols = rng.randint(9, 18)
            columns: list[JsonValue] = []
            for c in range(n_cols):
                suffix, col_type, desc = _COLUMNS[c % len(_COLUMNS)]
                col = f"col_{c}_{suffix}"
                columns.append(
                    {
                        "name": col,
                        "type": col_type,
                        "nullable": c > 2 and rng.random() < 0.4,
                        "default_value": "now()" if col_type == "timestamptz" and c < 5 else None,
                        "indices": [
                            {
                                "name": f"idx_{name}_{suffix}",
                                "type": "btree" if c == 0 else rng.choice(_INDEX_TYPES),
                                "unique": c == 0,
                                "partial": None if rng.random() < 0.8 else "WHERE deleted_at IS NULL",
                                "size_mb": round(rng.uniform(0.5, 120.0), 2),
                            }
                        ],
                        "constraints": [{"type": "PRIMARY KEY"}, {"type": "NOT NULL"}]
                        if c == 0
                        else [{"type": "NOT NULL"}],
                        "statistics": {
                            "null_fraction": 0 if c < 3 else round(rng.uniform(0, 0.3), 3),
                            "avg_width_bytes": rng.choice((4, 8, 16, 40, 64, 128)),
                            "n_distinct": -1 if c == 0 else rng.randint(2, 90_000),
                            "most_common_vals": None if c != 2 else list(_STATUSES[:3]),
                            "correlation": round(rng.uniform(-1, 1), 3),
                        },
                        "description": (
                            f"{desc}. This column was introduced in migration 2023{d:02d}{c:02d} and is "
                            f"actively used by {rng.randint(1, 6)} downstream services. Average query "
                            f"frequency: {rng.randint(50, 5000)} reads/sec, {rng.randint(1, 400)} writes/sec."
                        ),
                    }
                )
            other = _DOMAINS[(d + 1 + rng.randint(0, 2)) % len(_DOMAINS)]
            samples: list[JsonValue] = [
                {
                    "col_0_id": f"{name}_{i}_{_letters(rng, 8)}",
                    "col_1_name": f"Sample {domain} record {i} with extended name for display",
                    "col_2_status": _STATUSES[i % len(_STATUSES)],
                    "col_3_created_at": f"2025-{i + 1:02d}-01T00:00:00.000Z",
                    "col_5_value": round(rng.uniform(1, 100), 2),
                    "col_7_metadata": {"source": domain, "version": i + 1, "tags": ["auto", "generated"]},
                }
                for i in range(3)
            ]
            tables.append(
                {
                    "name": name,
                    "schema": "public",
                    "domain": domain,
                    "columns": columns,
                    "relationships": [
                        {
                            "type": "has_many",
                            "target": f"{other}_table_{rng.randint(0, tables_per_domain - 1)}",
                            "through": None,
                            "cardinality": "one-to-many",
                            "avg_children": rng.randint(2, 40),
                        }
                    ],
                    "sample_data": samples,
                    "row_count_estimate": rng.randint(1, 5000) * 1000,
                    "dead_tuple_count": rng.randint(0, 20_000),
                    "avg_row_size_bytes": rng.choice((96, 128, 256, 512)),
                    "total_size_mb": round(rng.uniform(5, 900), 2),
                    "index_size_mb": round(rng.uniform(1, 200), 2),
                    "last_vacuum": f"2025-09-{rng.randint(1, 15):02d}T03:00:00Z",
                    "autovacuum_enabled": rng.random() < 0.9,
                    "has_rls": domain != "analytics",
                    "partitioned": rng.random() < 0.3,
                    "triggers": [
                        {
                            "name": f"trg_{name}_audit",
                            "timing": "AFTER",
                            "events": ["INSERT", "UPDATE", "DELETE"],
                            "function": f"fn_audit_{domain}",
                        }
                    ],
                    "description": (
                        f"Table {t} in the {domain} domain. Manages core entities and their lifecycle "
                        f"states for the {domain.replace('_', ' ')} subsystem."
                    ),
                }
            )
    return {
        "schema_version": "4.7.2",
        "database": "alchemyst_production",
        "engine": "PostgreSQL 16.1",
        "total_tables": len(tables),
        "total_size_gb": round(rng.uniform(150, 300), 1),
        "total_index_size_gb": round(rng.uniform(40, 90), 1),
        "active_connections": rng.randint(60, 220),
        "max_connections": 500,
        "domains": list(_DOMAINS),
        "extensions": ["pg_trgm", "uuid-ossp", "pgcrypto", "postgis", "pg_stat_statements", "hstore"],
        "replication": {"mode": "streaming", "replicas": 2, "lag_bytes": rng.randint(0, 4096)},
        "backup": {
            "last_full": "2025-09-14T02:00:00Z",
            "last_incremental": "2025-09-15T02:00:00Z",
            "retention_days": 30,
        },
        "tables": tables,
    }


def _schema_update(data: JsonObject, rng: random.Random, orphans: list[JsonValue]) -> JsonObject:
    """The mid-response schema snapshot: a few targeted changes deep inside, not a reshuffle."""
    new = evolve(
        data,
        set_={
            "analysis_complete": True,
            "flagged_issues": [
                {"table": orphan, "issue": "orphan_table", "severity": "low"} for orphan in orphans
            ],
            "active_connections": _int(data.get("active_connections"), 100) + rng.randint(1, 30),
        },
        remove=("backup",),
        insert=(("extensions", 3, "pg_partman"),),
    )
    tables = new["tables"]
    assert isinstance(tables, list)
    for index in rng.sample(range(len(tables)), 4):
        table = tables[index]
        if isinstance(table, dict):
            table["row_count_estimate"] = _int(table.get("row_count_estimate"), 0) + rng.randint(1, 999)
            table["last_analyze"] = "2025-09-15T11:42:00Z"
            table.pop("dead_tuple_count", None)
    tables.insert(
        rng.randint(1, len(tables) - 1),
        {
            "name": "legacy_logs",
            "schema": "archive",
            "domain": "agent_ops",
            "columns": [],
            "relationships": [],
            "row_count_estimate": 0,
            "description": "Orphan table found by analyze_schema: no inbound or outbound foreign keys.",
        },
    )
    new["total_tables"] = len(tables)
    return new


def _int(value: JsonValue, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def large_context(b: Builder, prompt: str) -> None:
    rng = b.rng
    data = schema_snapshot(rng)
    b.snapshot("ctx_schema", data)
    b.say(
        "I've loaded the full database schema into context. The schema contains 64 tables across 4 "
        "primary domains: user management, billing, analytics, and agent operations. "
    )
    fks = rng.randint(55, 80)
    orphans: list[JsonValue] = ["legacy_logs", "temp_migrations"]
    b.tool(
        "analyze_schema",
        {"focus": "relationships", "depth": "full"},
        {
            "total_tables": 64,
            "total_columns": sum(
                len(t["columns"])
                for t in _list(data.get("tables"))
                if isinstance(t, dict) and isinstance(t["columns"], list)
            ),
            "foreign_keys": fks,
            "most_connected": "events",
            "orphan_tables": orphans,
        },
    )
    b.say(
        f"The most connected table is `events` with {rng.randint(8, 15)} foreign key relationships. "
        "I also found 2 orphan tables that may be candidates for cleanup: `legacy_logs` and "
        "`temp_migrations`. "
    )
    b.snapshot("ctx_schema", _schema_update(data, rng, orphans))
    b.say("Would you like me to focus on a specific domain or analyze the overall architecture?")


def _list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []
