"""drop the evidence index that uq_evidence already covers

uq_evidence (relationship_id, source_id, quote_hash) leads with relationship_id, so lookups and
cascading deletes by relationship use it; the single-column index only cost every insert.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 02:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_relationship_id"))


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_relationship_id"), ["relationship_id"], unique=False
        )
