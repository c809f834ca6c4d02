"""Alembic migrations of the store; run by server/store/migrate.py (`deepfake-guard db upgrade`)."""
