"""The pure core: the wire format, with no I/O, no asyncio and no clock.

`endpoints` (one row of data per endpoint), `validate` (argument checks before any
I/O), `convert` (the one cattrs converter), `wire` (build requests, parse responses,
map errors) and `config` (`Timeout` and the checks every tunable shares).
"""
