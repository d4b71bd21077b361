"""Content: generation stages, model providers, versions, quality checks, editorial review, audit.

Imports flow one way: `content` may import `tasks`, never `publishing`.
"""
