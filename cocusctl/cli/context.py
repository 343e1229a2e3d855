"""The one context object built in the root callback and handed to every command."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from cocusctl.cli.output import Renderer, RichReporter, View, interactive, make_console
from cocusctl.core.errors import CocusError, ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.adapters import Adapters
    from cocusctl.core.config import Environment, LoadedConfig
    from cocusctl.core.release.target import ReleaseTarget

T = TypeVar("T")


@dataclass
class AppContext:
    config_path: Path | None = None
    env_name: str | None = None
    output: str = "human"
    verbose: int = 0
    no_color: bool = False
    assume_yes: bool = False
    flags: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def loaded(self) -> LoadedConfig:
        from cocusctl.core.config import load_config

        return load_config(self.config_path, flags=self.flags)

    def environment(self, name: str | None = None) -> Environment:
        return self.loaded.environment(name or self.env_name)

    @cached_property
    def stdout(self) -> Console:
        return make_console(stderr=False, no_color=self.no_color)

    @cached_property
    def stderr(self) -> Console:
        return make_console(stderr=True, no_color=self.no_color)

    @cached_property
    def reporter(self) -> RichReporter:
        return RichReporter(self.stderr, verbose=self.verbose)

    @cached_property
    def renderer(self) -> Renderer:
        return Renderer(output=self.output, stdout=self.stdout, stderr=self.stderr, verbose=self.verbose)

    @cached_property
    def adapters(self) -> Adapters:
        from cocusctl.adapters import Adapters

        return Adapters(self.loaded)

    def release_target(self, environment: Environment) -> ReleaseTarget:
        """The environment's deploy target (Cloud Run, GKE…), built on this context's adapters and reporter."""
        from cocusctl.core.release.target import release_target

        return release_target(environment, self.adapters, self.reporter)

    def confirm(self, question: str) -> bool:
        """Ask before a change; `--yes` answers for CI. With no TTY and no --yes, refuse."""
        if self.assume_yes:
            return True
        if not interactive(self.stderr):
            from cocusctl.core.errors import UsageError

            raise UsageError(f"{question} needs confirmation", hint="pass --yes to confirm non-interactively")
        return typer.confirm(question, err=True)

    def run(self, command: str, action: Callable[[], T], view: View | None = None) -> T:
        """Run a core action, render its result, and map failures to exit codes (the only place that does)."""
        try:
            result = action()
        except CocusError as exc:
            self.reporter.close()
            self.renderer.failure(command, exc, view)
            if self.verbose and exc.__cause__ is not None:
                self.stderr.print("".join(traceback.format_exception(exc.__cause__)), style="dim")
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            self.reporter.close()
            self.renderer.error_line("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback without -v
            self.reporter.close()
            if self.verbose:
                self.stderr.print("".join(traceback.format_exception(exc)), style="dim")
            self.renderer.internal(command, exc)
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        self.reporter.close()
        self.renderer.success(command, result, view)
        return result


def get_context(ctx: typer.Context, *, env: str | None = None, output: str | None = None) -> AppContext:
    """The AppContext, with per-command `--env`/`--output` taking precedence over the root options."""
    app_ctx = ctx.find_object(AppContext)
    if app_ctx is None:
        app_ctx = AppContext()
        ctx.obj = app_ctx
    if env is not None:
        app_ctx.env_name = env
    if output is not None:
        app_ctx.output = output
    return app_ctx
