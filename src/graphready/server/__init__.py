"""The HTTP server: app factory, lifecycle, routes, errors and the chat page."""
