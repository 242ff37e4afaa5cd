"""Collects CHZZK live chat: client (HTTP + websocket), pure parser, buffer, PostgreSQL sink."""
