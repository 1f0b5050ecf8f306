"""The HTTP API under /api/v1 (its routers, auth, problems, metrics); ``workflow.web.app`` puts it
together with the console and the public pages."""
