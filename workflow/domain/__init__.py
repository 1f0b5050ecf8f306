"""The domain: every check and what an event plans; imports no database, broker or HTTP."""
