"""Jinja2 templates of the Mistral DSL v2 workflows nfvmon generates (package data)."""
