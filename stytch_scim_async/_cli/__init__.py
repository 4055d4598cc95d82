"""The `stytch-scim` console script, one module per job; the entry point is
`stytch_scim_async.cli`, which checks the `cli` extra first.

`app` assembles the commands: `single` (create, get, delete, rotate), `provision`,
`demo`; `env` is what a run takes from its process, `exit` how it ends, `options`
and `output` what every command shares. A batch: `inputs` reads the file, `ledger`
and `records` read and shape the results file that `results` writes, `tally` counts,
`confirm` settles what an earlier run left unconfirmed, `batch` drives the client,
`display` shows progress and the summary.
"""
