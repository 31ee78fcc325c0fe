"""Click options generated from :data:`opentrail.settings.SETTINGS` (flag, environment twin shown in
``--help``, default, help text), shared by ``opentrail`` and its subcommands in other modules
(``opentrail proxy``), and :func:`state_database`, what ``--database-url`` does for a command."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from .settings import SETTINGS, Setting

__all__ = ["settings_option", "settings_options", "state_database"]


def settings_option(setting: Setting) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click option of ``setting`` (its flag, parameter name, type, default and env twin)."""
    kind: Any = click.Path(path_type=Path) if setting.type is Path else setting.type
    return click.option(
        setting.flag,
        setting.name,
        type=kind,
        default=setting.default,
        envvar=setting.env,
        show_envvar=True,
        show_default=True,
        help=setting.help,
    )


def settings_options(names: tuple[str, ...] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of the settings named ``names`` (None: every setting), in the settings' order."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for setting in reversed(SETTINGS):
            if names is None or setting.name in names:
                fn = settings_option(setting)(fn)
        return fn

    return decorate


def state_database(data_dir: Path, database_url: str) -> None:
    """With ``--database-url`` (non-empty ``database_url``), the state files of ``data_dir``
    (accounts, keys, secrets...) open as schemas of that PostgreSQL database, as for ``opentrail
    serve --database-url`` (:func:`opentrail.state_db.register_database`). Raises
    ``click.ClickException`` (exit status 1, one line) when the database does not answer."""
    if not database_url:
        return
    import psycopg

    from .state_db import register_database

    try:
        register_database(data_dir, database_url)
    except psycopg.Error as exc:
        raise click.ClickException(f"cannot reach the database of --database-url: {exc}") from None
