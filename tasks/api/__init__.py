"""The HTTP API of generation tasks: brief, list, inspect, change, cancel, retry, delete.

Views here only translate HTTP to service calls: they validate input with a serializer, find the
task among those the user may see, call a verb of `tasks.services` and render the result. No
business rule lives here; `config.api` turns the services' domain errors into status codes.
Imports flow one way: `views` uses `serializers`, `filters` and `permissions`, never the reverse.
"""
