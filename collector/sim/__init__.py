"""Local CHZZK simulator: a pure synthetic chat generator (``generator``) and a server
speaking the CHZZK HTTP + chat-websocket protocol on one port (``server``)."""
