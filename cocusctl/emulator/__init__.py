"""A local Cloud Run Admin API v2 emulator: revisions run as Docker containers behind a traffic router.

`process.start()` launches it in the background (PID and info files in its state directory) and returns
once it serves; `python -m cocusctl.emulator` runs it in the foreground.
"""
