"""Generation tasks: the brief, its lifecycle, the durable queue, progress events and the socket.

The lowest layer of Pressroom: `tasks` imports from neither `content` nor `publishing`.
"""
