"""Embedded stand-ins for the production services: PostgreSQL and an SMTP sink."""
