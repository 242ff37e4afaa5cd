"""Shared foundations: declared settings and the PostgreSQL schema (owned here, written by
the collector, read by the warehouse sync)."""
