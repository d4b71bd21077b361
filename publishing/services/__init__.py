"""Services of `publishing`: the publishing verbs (`publishing.services.posts`)."""
