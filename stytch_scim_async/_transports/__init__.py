"""Transports: the I/O under the engine. `aiohttp` is the only module of the library
that imports aiohttp."""
