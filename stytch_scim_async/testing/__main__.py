"""``python -m stytch_scim_async.testing``: serve the Stytch emulator from a shell."""

from ._cli import main

raise SystemExit(main())
