"""chalice-permission-canary: prove at run time that a Chalice API's role can do what its code needs.

Kept import-free on purpose: the Lambda imports only what a run needs.

Supported Python: 3.11 and newer, i.e. the AWS Lambda runtimes python3.11 to python3.14. On an older
interpreter the package refuses to import with one line saying so (the code uses `X | None`
annotations that pydantic evaluates, which would otherwise fail with a TypeError deep inside it).
This file must stay valid Python 3 of any version, so it uses no newer syntax.
"""

import sys as _sys

__version__ = "0.1.0"
__all__ = ["__version__", "MIN_PYTHON", "python_problem"]

MIN_PYTHON = (3, 11)
LAMBDA_RUNTIMES = "python3.11 to python3.14"


def python_problem(version=None):
    """Return one line saying why this interpreter cannot run the canary, or None when it can."""
    major, minor = tuple(_sys.version_info[:2] if version is None else version[:2])
    if (major, minor) >= MIN_PYTHON:
        return None
    return ("chalice-permission-canary needs Python %d.%d or newer (AWS Lambda runtimes %s); "
            "this is Python %d.%d" % (MIN_PYTHON + (LAMBDA_RUNTIMES, major, minor)))


def _refuse_old_python():
    problem = python_problem()
    if problem is None:
        return
    argv0 = (_sys.argv[0] if _sys.argv else "").replace("\\", "/").rsplit("/", 1)[-1]
    # The CLI (its console script, or `python -m canary.cli` while it is being located): one line, exit 2.
    if argv0 in ("permission-canary", "permission-canary.exe", "-m"):
        _sys.stderr.write("error: %s\n" % problem)
        raise SystemExit(2)
    raise ImportError(problem)


_refuse_old_python()
