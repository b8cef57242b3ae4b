"""Errors a user can fix: stages print them as one line, without a traceback."""


class UserError(Exception):
    """A problem in the user's input (params, files, arguments) with a message saying how to fix it."""


class ParamError(UserError):
    """A value in params.yaml that is missing, unknown or out of range."""


class DataError(UserError):
    """A data file that is missing, corrupt or of the wrong shape."""
