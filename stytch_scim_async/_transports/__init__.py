"""Transports: the I/O under the engine. `base` is the seam (the `Transport` protocol
and the call counting every transport shares), `aiohttp` the default transport and the
only module of the library that imports aiohttp, `memory` a transport over an
in-process handler (the emulator's pure fake) for tests with no sockets."""
