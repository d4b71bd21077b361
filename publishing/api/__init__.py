"""The publishing API: publish (now or scheduled) and unpublish a task's post."""
