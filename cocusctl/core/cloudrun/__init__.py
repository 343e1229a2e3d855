"""The Cloud Run release lifecycle: deploy, split traffic, promote, status and rollback.

Pure orchestration over the `CloudRunApi` protocol (implemented by `cocusctl.adapters.cloudrun` for both
real Cloud Run and the local emulator); it never imports typer or rich and reports through a `Reporter`.
"""
