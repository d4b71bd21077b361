"""Services of `publishing`: the publishing verbs (`publishing.services.posts`) and the sweep of
media files no row names (`publishing.services.media_files`)."""
