"""The team's decorator: every table name gets the stage's suffix before the call."""
import functools
import os


def staged_table(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        kwargs["table_name"] += os.environ["STAGE_SUFFIX"]
        return func(*args, **kwargs)
    return wrapper
