"""The OCOP workflow engine: apply one event to one case atomically, and everything around it."""
