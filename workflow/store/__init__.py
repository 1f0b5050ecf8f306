"""Persistence: tables, statements, migrations, the hash-chained history and the read models."""
