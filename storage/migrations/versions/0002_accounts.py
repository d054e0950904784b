"""Accounts: saved cards (sealed), card charges, account-page sessions, escrow holds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('removed_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cards_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_user_id'), ['user_id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.Column('revoked_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('session_hash', name=op.f('uq_web_sessions_session_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_charge_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decline_code', sa.String(length=64), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint("status IN ('succeeded', 'declined', 'failed')", name=op.f('ck_charges_status')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_charges_positive')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_charges_card_id_cards')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_charges_transfer_id_transfers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_charges_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    sa.UniqueConstraint('provider_charge_id', name=op.f('uq_charges_provider_charge_id'))
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charges_user_id'), ['user_id'], unique=False)

    op.create_table('escrow_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intent_id', sa.Integer(), nullable=False),
    sa.Column('sender_x_user_id', sa.BigInteger(), nullable=False),
    sa.Column('recipient_x_user_id', sa.BigInteger(), nullable=False),
    sa.Column('recipient_handle', sa.String(length=32), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('hold_transfer_id', sa.Integer(), nullable=False),
    sa.Column('release_transfer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('claim_deadline', TS, nullable=False),
    sa.Column('reminded_at', TS, nullable=True),
    sa.Column('decided_at', TS, nullable=True),
    sa.CheckConstraint("status IN ('held', 'claimed', 'refunded', 'cancelled')", name=op.f('ck_escrow_holds_status')),
    sa.ForeignKeyConstraint(['hold_transfer_id'], ['transfers.id'], name=op.f('fk_escrow_holds_hold_transfer_id_transfers')),
    sa.ForeignKeyConstraint(['intent_id'], ['payment_intents.id'], name=op.f('fk_escrow_holds_intent_id_payment_intents')),
    sa.ForeignKeyConstraint(['release_transfer_id'], ['transfers.id'], name=op.f('fk_escrow_holds_release_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escrow_holds')),
    sa.UniqueConstraint('intent_id', name=op.f('uq_escrow_holds_intent_id'))
    )
    with op.batch_alter_table('escrow_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escrow_holds_recipient_x_user_id'), ['recipient_x_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escrow_holds_sender_x_user_id'), ['sender_x_user_id'], unique=False)
        batch_op.create_index('ix_escrow_holds_status_deadline', ['status', 'claim_deadline'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('escrow_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_escrow_holds_status_deadline')
        batch_op.drop_index(batch_op.f('ix_escrow_holds_sender_x_user_id'))
        batch_op.drop_index(batch_op.f('ix_escrow_holds_recipient_x_user_id'))

    op.drop_table('escrow_holds')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charges_user_id'))

    op.drop_table('charges')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_user_id'))

    op.drop_table('cards')
