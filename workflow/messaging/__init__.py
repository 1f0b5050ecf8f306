"""Messaging: the broker's names, delivery of outbox rows and the channels that carry them."""
