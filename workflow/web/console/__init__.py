"""The staff console and the public pages: server-rendered Jinja2, Vietnamese and English."""
