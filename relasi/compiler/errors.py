"""The compiler's one signal: this operation, or this request of it, runs through the resolvers."""


class Unsupported(Exception):
    """Raised while planning or binding; the resolvers (the reference) answer instead."""
