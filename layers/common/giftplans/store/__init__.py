"""Persistence: PynamoDB models for the one table, and the transaction helper."""
