"""The core API: orchestration that never imports Typer or Rich."""
