"""The web entry point: ``app.create_app`` mounts the API (``api/``) and the console."""
