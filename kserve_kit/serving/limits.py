"""Limits the serving library and the kit's templates share (TorchServe's config.properties gets the
same through extensions/derive.py). Imports nothing."""

MAX_REQUEST_BYTES = 8 * 1024 * 1024  # bigger request bodies get HTTP 413, on every runtime
# Istio's Envoy refuses request headers over 60 KiB (max_request_headers_kb): the same here, so what
# passes on a laptop passes in the mesh, and a client cannot make every request carry a megabyte.
MAX_HEADER_BYTES = 60 * 1024
# A body must arrive within this many seconds of its headers: a client trickling bytes would
# otherwise hold a connection, and the memory of its partial body, for as long as it likes.
BODY_SECONDS = 10.0
