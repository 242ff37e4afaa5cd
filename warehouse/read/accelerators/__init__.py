"""Accelerators: small files built from the chat partitions that answer some questions
without scanning every day of chat."""
