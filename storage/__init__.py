"""Persistence: models, migrations, the unit of work and the ledger."""
