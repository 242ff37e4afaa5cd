"""The sync: PostgreSQL → the lake (``export``: extract day tables, write partitions, then
the state), and the commands that rewrite the lake from PostgreSQL's side — retention,
repair, forget-user. Only this side of the warehouse talks to PostgreSQL (apart from the
read side's live overlay, which borrows the sync's extract when asked for today's rows)."""
