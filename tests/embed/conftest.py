"""The embedding walk-through: a sample API that adopts the canary with `permission-canary init`."""

# sample_api/ is a user's project with its own tests; it is run in a copy, never collected here.
collect_ignore_glob = ["sample_api/*"]
