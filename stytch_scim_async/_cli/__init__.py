"""The `stytch-scim` console script's commands (`app`), one module per job; the entry
point is `stytch_scim_async.cli`, which checks the `cli` extra first."""
