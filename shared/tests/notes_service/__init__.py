"""A tiny service built with the shared kernel, exactly as a real service is, for the kernel's own tests.

It keeps notes (create idempotently, edit with If-Match), publishes ``test.note_created``, and consumes it into
a log table whose rows count how many times each event was applied.
"""
