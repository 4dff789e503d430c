"""Database access: configuration, the embedded server, clients and bulk operations."""

from labellens.db.client import (
    Binding,
    binding,
    close_clients,
    current_uri,
    get_async_client,
    get_client,
    get_database,
    resolve_uri,
)

__all__ = ["Binding", "binding", "close_clients", "current_uri", "get_async_client", "get_client",
           "get_database", "resolve_uri"]
