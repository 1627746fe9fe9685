"""The user-facing error type: something the user asked for cannot be done, and why."""


class EitestError(Exception):
    """A problem the user can fix; the CLI prints its message and exits with status 2."""
