"""chalice-permission-canary: prove at run time that a Chalice API's role can do what its code needs.

Kept import-free on purpose: the Lambda imports only what a run needs.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
