"""Limits the serving library and the kit's templates share (TorchServe's config.properties gets the
same through extensions/derive.py). Imports nothing."""

MAX_REQUEST_BYTES = 8 * 1024 * 1024  # bigger request bodies get HTTP 413, on every runtime
