"""Publishing: posts, the public blog, search and feeds.

The top layer: `publishing` may import `content` and `tasks`; nothing imports `publishing`.
"""
