#!/bin/sh
# Random secrets for deploy/compose.yaml, written once into deploy/secrets/ (mode 0600;
# the folder is git-ignored). An existing file is kept: rotating the secrets key needs
# `npm run rotate-secrets-key`, not a new file.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
umask 077
make() { [ -s "$dir/$1" ] && echo "kept    $dir/$1" || { sh -c "$2" > "$dir/$1"; echo "created $dir/$1"; }; }
make db_password    'head -c 24 /dev/urandom | base64 | tr -d "/+="'
make secrets_key    'printf "1:%s" "$(head -c 32 /dev/urandom | base64)"'
make session_secret 'head -c 32 /dev/urandom | base64'
