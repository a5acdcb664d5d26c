#!/bin/bash
# STAND-IN for the upstream image's /usr/local/bin/dockerd-entrypoint.sh (TorchServe 0.12.0):
# "serve" starts TorchServe with the image's own configuration, anything else is run as given.
set -e
if [[ "$1" = "serve" ]]; then
    shift 1
    torchserve --start --ts-config /home/model-server/config.properties --disable-token-auth
else
    eval "$@"
fi
tail -f /dev/null
