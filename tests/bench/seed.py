"""Seed a Gallery database directly with SQLAlchemy core bulk inserts (after migrations).

Realistic shape: ~1 user per 20 assets, 20 groups, assets with names/titles/descriptions/tags
drawn from a small ML vocabulary (skewed, so some words and tags are common and some rare),
5 versions each, a 70/15/15 public/group/private mix with whitelist rows on every version of a
``group`` asset, and heavy-tailed subscription counts backed by real ``subscription`` rows.
Deterministic for a given size (fixed random seed).
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, text

from registry.accounts.models import Group, GroupMember, User
from registry.assets.models import Asset, AssetTag, AssetVersion, Subscription, VersionWhitelist
from registry.db import Database
from registry.migrate import upgrade
from registry.security import Passwords

PASSWORD = "bench-password-1"
READER = "bench-reader"  # authenticated non-admin searcher: 2 groups, some own assets
PUBLISHER = "bench-publisher"  # owns the assets the publish benchmark writes to
ADMIN = "bench-admin"
VERSIONS = ("1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0")
KINDS = ("algorithm", "workflow", "model", "dataset")
KIND_WEIGHTS = (40, 25, 25, 10)

ARCHS = [
    "resnet50",
    "resnet18",
    "vit",
    "bert",
    "roberta",
    "gpt2",
    "t5",
    "llama",
    "mistral",
    "yolov8",
    "unet",
    "efficientnet",
    "mobilenet",
    "convnext",
    "whisper",
    "wav2vec",
    "clip",
    "detr",
    "xgboost",
    "lightgbm",
    "catboost",
    "prophet",
    "lstm",
    "transformer",
    "gnn",
    "graphsage",
    "diffusion",
    "vae",
    "gan",
    "autoencoder",
]
TASKS = [
    "classifier",
    "detector",
    "segmenter",
    "tokenizer",
    "embedder",
    "forecaster",
    "ranker",
    "recommender",
    "summarizer",
    "translator",
    "transcriber",
    "captioner",
    "retriever",
    "reranker",
    "tagger",
    "parser",
    "regressor",
    "clusterer",
    "denoiser",
    "upscaler",
]
DOMAINS = [
    "medical",
    "retail",
    "finance",
    "satellite",
    "traffic",
    "speech",
    "legal",
    "chemistry",
    "genomics",
    "manufacturing",
    "agriculture",
    "insurance",
    "weather",
    "energy",
    "ecommerce",
    "sports",
    "education",
    "robotics",
    "security",
    "logistics",
]
ADJS = [
    "fast",
    "tiny",
    "robust",
    "distilled",
    "quantized",
    "multilingual",
    "pretrained",
    "finetuned",
    "lightweight",
    "accurate",
    "streaming",
    "sparse",
    "efficient",
    "calibrated",
    "federated",
]
FILLER = [
    "model",
    "pipeline",
    "training",
    "inference",
    "dataset",
    "evaluation",
    "accuracy",
    "latency",
    "batch",
    "gpu",
    "cpu",
    "feature",
    "preprocessing",
    "augmentation",
    "checkpoint",
    "metrics",
    "validation",
    "split",
    "labels",
    "images",
    "text",
    "audio",
    "tabular",
    "series",
    "graph",
    "embeddings",
    "vectors",
    "tokens",
    "prompts",
    "deployment",
    "serving",
    "monitoring",
    "drift",
    "baseline",
    "benchmark",
    "ablation",
    "hyperparameters",
    "optimizer",
    "scheduler",
    "loss",
    "precision",
    "recall",
    "f1",
    "auc",
    "throughput",
    "memory",
    "quantization",
    "pruning",
    "distillation",
    "export",
    "onnx",
    "tensorrt",
    "torchscript",
    "notebook",
    "reproducible",
    "versioned",
    "documented",
    "tested",
    "license",
    "apache",
    "mit",
    "research",
    "production",
    "experimental",
    "stable",
]
TAGS = [
    "pytorch",
    "tensorflow",
    "jax",
    "sklearn",
    "onnx",
    "huggingface",
    "vision",
    "nlp",
    "audio",
    "tabular",
    "timeseries",
    "graph",
    "llm",
    "generative",
    "detection",
    "segmentation",
    "classification",
    "regression",
    "ranking",
    "forecasting",
    "speech",
    "ocr",
    "medical",
    "finance",
    "retail",
    "edge",
    "gpu",
    "cpu",
    "quantized",
    "distilled",
    "multilingual",
    "benchmark",
    "baseline",
    "production",
    "experimental",
    "research",
    "streaming",
    "batch",
    "federated",
    "privacy",
]


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


@dataclass
class SeedInfo:
    assets: int
    versions: int
    users: int
    groups: int
    subscriptions: int
    whitelist_rows: int
    tags: int
    seconds: float
    visible_anonymous: int
    visible_reader: int
    common_tags: list[str] = field(default_factory=list)
    rare_tags: list[str] = field(default_factory=list)


def build_rows(n_assets: int, password_hash: str, seed: int = 42) -> dict[str, Any]:
    """All rows to insert, keyed by table name, with explicit ids."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    n_users = max(50, n_assets // 20)
    users: list[dict[str, Any]] = []
    for i in range(1, n_users + 1):
        users.append(
            {
                "id": i,
                "username": f"user{i:06d}",
                "password_hash": password_hash,
                "is_admin": False,
                "is_active": True,
                "created_at": now - timedelta(days=800) + timedelta(minutes=i),
            }
        )
    special = {}
    for offset, name in enumerate((READER, PUBLISHER, ADMIN), start=n_users + 1):
        users.append(
            {
                "id": offset,
                "username": name,
                "password_hash": password_hash,
                "is_admin": name == ADMIN,
                "is_active": True,
                "created_at": now - timedelta(days=1),
            }
        )
        special[name] = offset
    reader_id = special[READER]
    groups = [
        {"id": g, "name": f"team-{g:02d}", "created_at": now - timedelta(days=700)}
        for g in range(1, 21)
    ]
    members = set()
    for u in range(1, n_users + 1):
        for g in rng.sample(range(1, 21), rng.choice((0, 1, 1, 2))):
            members.add((g, u))
    reader_groups = (3, 7)
    for g in reader_groups:
        members.add((g, reader_id))
    group_members = [{"group_id": g, "user_id": u} for g, u in sorted(members)]

    tag_weights = _zipf_weights(len(TAGS), 0.9)
    filler_weights = _zipf_weights(len(FILLER), 0.8)
    assets: list[dict[str, Any]] = []
    asset_tags: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    whitelist: list[dict[str, Any]] = []
    subscriptions: list[dict[str, Any]] = []
    version_id = 0
    span = timedelta(days=730)
    visible_anon = visible_reader = 0
    for a in range(1, n_assets + 1):
        # The reader owns a handful of (mostly private) assets; others are spread over users.
        owner = reader_id if a % 997 == 0 else rng.randint(1, n_users)
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        arch, task, domain, adj = (
            rng.choice(ARCHS),
            rng.choice(TASKS),
            rng.choice(DOMAINS),
            rng.choice(ADJS),
        )
        name = f"{arch}-{domain}-{task}-{a}"
        title = f"{adj.capitalize()} {arch} {task} for {domain}"
        words = rng.choices(FILLER, filler_weights, k=rng.randint(20, 60))
        description = (
            f"A {adj} {arch} {task} for {domain} data. "
            + " ".join(words)
            + f". Works with {rng.choice(ARCHS)} features."
        )
        tags = sorted(set(rng.choices(TAGS, tag_weights, k=rng.randint(1, 5))))
        roll = rng.random()
        visibility = "public" if roll < 0.70 else "group" if roll < 0.85 else "private"
        count = min(n_users, int(rng.paretovariate(1.3)) - 1)
        created = now - span + span * (a / (n_assets + 1)) + timedelta(seconds=rng.randint(0, 60))
        assets.append(
            {
                "id": a,
                "content_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "kind": kind,
                "name": name,
                "title": title,
                "description": description,
                "terms": "Use at your own risk." if rng.random() < 0.3 else "",
                "tags_text": " ".join(tags),
                "owner_id": owner,
                "visibility": visibility,
                "subscription_count": count,
                "latest_version": VERSIONS[-1],
                "created_at": created,
                "updated_at": created + timedelta(days=rng.randint(0, 30)),
            }
        )
        asset_tags.extend({"asset_id": a, "tag": t} for t in tags)
        reader_can = owner == reader_id or visibility == "public"
        for v_index, version in enumerate(VERSIONS):
            version_id += 1
            major, minor, patch = (int(p) for p in version.split("."))
            versions.append(
                {
                    "id": version_id,
                    "asset_id": a,
                    "version": version,
                    "major": major,
                    "minor": minor,
                    "patch": patch,
                    "prerelease": None,
                    "status": "deprecated" if v_index == 0 and rng.random() < 0.2 else "active",
                    "description": f"release {version}",
                    "manifest": {
                        "description": f"release {version}",
                        "dependencies": [],
                        "interface": {"inputs": ["data"], "outputs": ["model"]},
                        "metadata": {"framework": rng.choice(TAGS[:6])},
                    },
                    "package_key": f"packages/{a}/{version_id}.tar.gz",
                    "package_sha256": hashlib.sha256(str(version_id).encode()).hexdigest(),
                    "package_size": rng.randint(1_000, 5_000_000),
                    "published_by": owner,
                    "created_at": created + timedelta(days=v_index * 7),
                }
            )
            if visibility == "group":
                principals = set()
                for _ in range(rng.randint(1, 3)):
                    if rng.random() < 0.6:
                        principals.add(("group", rng.randint(1, 20)))
                    else:
                        principals.add(("user", rng.randint(1, n_users)))
                for kind_, pid in principals:
                    whitelist.append(
                        {
                            "version_id": version_id,
                            "asset_id": a,  # denormalised since migration 0002
                            "principal_kind": kind_,
                            "principal_id": pid,
                        }
                    )
                    if (kind_ == "group" and pid in reader_groups) or (
                        kind_ == "user" and pid == reader_id
                    ):
                        reader_can = True
        visible_anon += visibility == "public"
        visible_reader += reader_can
        for u in rng.sample(range(1, n_users + 1), count):
            subscriptions.append(
                {
                    "user_id": u,
                    "asset_id": a,
                    "terms_accepted_at": created + timedelta(days=1),
                    "created_at": created + timedelta(days=1),
                }
            )
    tag_counts = Counter(r["tag"] for r in asset_tags)
    ranked_tags = [t for t, _ in tag_counts.most_common()]
    return {
        "gallery_user": users,
        "gallery_group": groups,
        "group_member": group_members,
        "asset": assets,
        "asset_tag": asset_tags,
        "asset_version": versions,
        "version_whitelist": whitelist,
        "subscription": subscriptions,
        "_info": {
            "visible_anonymous": visible_anon,
            "visible_reader": visible_reader,
            "common_tags": ranked_tags[:3],
            "rare_tags": ranked_tags[-3:],
        },
    }


TABLES: list[tuple[str, Table]] = [
    ("gallery_user", User.__table__),  # type: ignore[list-item]
    ("gallery_group", Group.__table__),  # type: ignore[list-item]
    ("group_member", GroupMember.__table__),  # type: ignore[list-item]
    ("asset", Asset.__table__),  # type: ignore[list-item]
    ("asset_tag", AssetTag.__table__),  # type: ignore[list-item]
    ("asset_version", AssetVersion.__table__),  # type: ignore[list-item]
    ("version_whitelist", VersionWhitelist.__table__),  # type: ignore[list-item]
    ("subscription", Subscription.__table__),  # type: ignore[list-item]
]
BATCH = 5000


async def seed(url: str, n_assets: int, *, analyze_sqlite: bool = False) -> SeedInfo:
    """Migrate a fresh database to head and bulk-insert ``n_assets`` assets (+ everything)."""
    started = time.perf_counter()
    # One real argon2id hash (the server's default cost) shared by every seeded user.
    password_hash = Passwords(memory_kib=19 * 1024, time_cost=2).hash(PASSWORD)
    rows = build_rows(n_assets, password_hash)
    db = Database(url)
    try:
        await upgrade(db)
        async with db.engine.begin() as conn:
            for name, table in TABLES:
                # Keep only the columns this schema has, so the seeder follows migrations.
                columns = set(table.c.keys())
                data = [{k: v for k, v in row.items() if k in columns} for row in rows[name]]
                for i in range(0, len(data), BATCH):
                    await conn.execute(table.insert(), data[i : i + BATCH])
            if not db.is_sqlite:
                for name in ("gallery_user", "gallery_group", "asset", "asset_version"):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
        if db.is_sqlite:
            if analyze_sqlite:
                async with db.engine.begin() as conn:
                    await conn.execute(text("ANALYZE"))
        else:
            # A bulk load is followed by autovacuum's ANALYZE within a minute on a live server;
            # do it now so the plans measured are the steady-state ones.
            async with db.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()
    info = rows["_info"]
    return SeedInfo(
        assets=len(rows["asset"]),
        versions=len(rows["asset_version"]),
        users=len(rows["gallery_user"]),
        groups=len(rows["gallery_group"]),
        subscriptions=len(rows["subscription"]),
        whitelist_rows=len(rows["version_whitelist"]),
        tags=len(rows["asset_tag"]),
        seconds=round(time.perf_counter() - started, 2),
        visible_anonymous=info["visible_anonymous"],
        visible_reader=info["visible_reader"],
        common_tags=info["common_tags"],
        rare_tags=info["rare_tags"],
    )
