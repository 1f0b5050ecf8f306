"""``ocop report`` and ``ocop targets set|list``: the programme's figures."""
