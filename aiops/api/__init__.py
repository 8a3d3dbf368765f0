"""The REST API under /aiops/: routes, authentication, permissions, errors."""
