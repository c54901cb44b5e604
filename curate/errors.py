"""Errors a user can cause: the CLI prints them in one line and exits 2."""


class UserError(Exception):
    """Bad input, bad config or a missing file: something the user can fix."""
