"""Pressroom's own display formats (FORMAT_MODULE_PATH), read before Django's for the locale."""
