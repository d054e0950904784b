"""Pure logic: the command grammar and the decisions taken on each event. No I/O here."""
