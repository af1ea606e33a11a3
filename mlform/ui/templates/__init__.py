"""The jinja2 templates of mlform's Markdown views (package data)."""
