"""The `stytch-scim` command group and its single-call commands (click).

Imported only by `cli.main`, once click and rich are known to be installed, so the
library itself never pays for them. The bearer token leaves this process in exactly
two places, both on stdout and both the point of the command: `create` and `rotate`.
"""

from __future__ import annotations

import click

from .._version import __version__
from .provision import demo, provision
from .options import Api, api_options, call, emit, verbose_option
from .single import create_reporting, rotate_reporting

__all__ = ["app"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stytch-scim")
@verbose_option
def app() -> None:
    """Manage Stytch B2B SCIM connections: single calls, resumable batch provisioning,
    and a local Stytch emulator.

    Credentials: --project-id (or STYTCH_PROJECT_ID), and the secret from STYTCH_SECRET
    or --secret-file (never from an argument).
    """


@app.command(short_help="Create a connection; print it with its bearer token.")
@click.argument("organization_id")
@click.option("--display-name", help="Name shown in the Stytch dashboard.")
@click.option("--idp", "identity_provider", help="Identity provider: okta, microsoft-entra, ...")
@api_options
@verbose_option
def create(
    organization_id: str, display_name: str | None, identity_provider: str | None, api: Api
) -> None:
    """Create an organization's SCIM connection; print it with its bearer token.

    Stytch shows the token only this once: the JSON on stdout is the only copy. If the
    reply is lost after the create committed, a new token is issued by rotation; one
    Stytch could not confirm is printed too (exit 1), with how to check it.
    """
    emit(
        call(
            api,
            lambda client: create_reporting(
                client, organization_id, display_name, identity_provider
            ),
        )
    )


@app.command(short_help="Print an organization's connection (no token).")
@click.argument("organization_id")
@api_options
@verbose_option
def get(organization_id: str, api: Api) -> None:
    """Print an organization's SCIM connection (null when it has none); no token."""
    emit(call(api, lambda client: client.get_connection(organization_id)))


@app.command(short_help="Delete a connection.")
@click.argument("organization_id")
@click.argument("connection_id")
@api_options
@verbose_option
def delete(organization_id: str, connection_id: str, api: Api) -> None:
    """Delete a SCIM connection; the IdP's token stops working at once."""
    emit(call(api, lambda client: client.delete_connection(organization_id, connection_id)))


@app.command(short_help="Rotate a connection's token; print the new one.")
@click.argument("organization_id")
@click.argument("connection_id")
@click.option("--cancel", is_flag=True, help="Abandon a started rotation; the old token stays.")
@api_options
@verbose_option
def rotate(organization_id: str, connection_id: str, cancel: bool, api: Api) -> None:
    """Replace a connection's bearer token (start + complete); print the new one.

    The old token stops working when this returns: install the new one in the IdP.
    If Stytch cannot confirm the completion, the new token is printed anyway (exit 1),
    since it may be the only live one; stderr says how to tell.
    With --cancel, abandon a rotation started elsewhere instead (no token printed).
    """
    if cancel:
        emit(call(api, lambda client: client.rotate_cancel(organization_id, connection_id)))
        return

    emit(call(api, lambda client: rotate_reporting(client, organization_id, connection_id)))


@app.command(
    short_help="Serve the Stytch emulator on 127.0.0.1.",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("emulator_args", nargs=-1, type=click.UNPROCESSED)
def emulator(emulator_args: tuple[str, ...]) -> None:
    """Serve the Stytch emulator on 127.0.0.1 until interrupted (--help lists the faults).

    Prints base_url=, project_id=, secret= and public_token= lines: the emulator's own
    throwaway credentials, to point a client (or this tool) at it.
    """
    from ..testing import main as serve

    raise SystemExit(serve(list(emulator_args), prog="stytch-scim emulator"))


app.add_command(provision)
app.add_command(demo)
