"""``ocop register list|export``: the programme register."""
