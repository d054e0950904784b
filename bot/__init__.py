"""The daemon: entry points and adapters (X gateway, emulator, ingest, outbox, scheduler, web)."""
