"""Alembic migrations of the store; run by core/store/migrate.py (`deepfake-guard db upgrade`)."""
