"""Services of `publishing`: the publishing verbs (`publishing.services.posts`), the refusal of a
save made after someone else's (`publishing.services.edit_conflicts`) and the sweep of media files
no row names (`publishing.services.media_files`)."""
