"""Settings read from the environment (prefix ``KG_``); every limit is named here once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DB = Path("data") / "kg.sqlite3"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Runtime configuration; tests build their own instance instead of mutating a global."""

    model_config = SettingsConfigDict(env_prefix="KG_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB}",
        description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://user@host/db.",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated keys that may write. Empty: one is generated at start-up.",
    )
    read_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated keys required for reads. Empty: reads are open.",
    )
    seed: bool = Field(default=True, description="Fill an empty database from seed_data/.")
    seed_dir: Path = Field(default=Path(__file__).resolve().parent.parent / "seed_data")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Limits (the bounds clients cannot lift).
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=10_000, ge=1)
    max_url_length: int = Field(default=4096, ge=256)
    max_page_size: int = Field(default=500, ge=1)
    max_depth: int = Field(default=4, ge=1, description="Most hops for neighbourhoods/proxies.")
    max_hops: int = Field(default=6, ge=1, description="Most hops of a path.")
    max_paths: int = Field(default=20, ge=1, description="Most paths (k) per query.")
    max_nodes: int = Field(default=2_000, ge=10, description="Most nodes a traversal returns.")
    max_edges: int = Field(
        default=2_000, ge=10, description="Most relationships a neighbourhood returns."
    )
    # Louvain, triads, betweenness and PageRank on a million ties take minutes; past this size
    # they run on the busiest core of the graph instead, within the query budget.
    analytics_sample_edges: int = Field(
        default=30_000,
        ge=100,
        description="On graphs with more relationships than this, blocs, balance, betweenness "
        "and PageRank work on a sample: the ties among the actors with the most ties, at most "
        "this many; the answer says sampled.",
    )
    max_expansions: int = Field(
        default=200_000, ge=100, description="Most edge expansions a single query may make."
    )
    query_time_budget_s: float = Field(default=2.0, gt=0, description="Wall-clock cap per query.")
    betweenness_sample_above: int = Field(
        default=500,
        ge=10,
        description="Above this many nodes betweenness samples this many sources.",
    )
    # Each betweenness source is one BFS over the graph (~nodes + edges steps); this caps the
    # number of sources so the answer stays near the query budget on any graph size.
    betweenness_max_work: int = Field(
        default=2_000_000,
        ge=1_000,
        description="Most BFS steps betweenness may take (sources x (nodes + edges)).",
    )
    pagerank_max_work: int = Field(
        default=5_000_000,
        ge=1_000,
        description="Most steps PageRank may take (iterations x (actors + arcs)); when that cuts "
        "its iterations short, the answer says converged: false.",
    )
    busy_timeout_ms: int = Field(default=5_000, ge=0)

    @field_validator("api_keys", "read_keys", "cors_origins", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        # Credentials are allowed, so a wildcard would hand every site a logged-in client.
        if "*" in value:
            raise ValueError("KG_CORS_ORIGINS may not contain '*'; list the origins")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
