#!/bin/sh
# Container entrypoint of switch-telemetry: one image, one role per container.
#
#   docker run IMAGE <role>        run a role: migrate | collector | control | web | simulator
#   docker run IMAGE healthcheck   (the image's HEALTHCHECK) ask the running role's health path
#
# The role table below is core/roles.ts written in shell (entry file, node flags, port
# setting and its default, health path); test/integration/deploy-files.test.ts runs this
# script and fails when the two differ. Configuration comes only from the environment.
set -eu

ROLE_FILE="${TMPDIR:-/tmp}/switch-telemetry.role"

usage() {
  echo "usage: docker-entrypoint.sh <role>   (roles: migrate collector control web simulator)" >&2
  echo "       docker-entrypoint.sh healthcheck" >&2
}

# role_spec ROLE: sets ENTRY, FLAGS, PORT_ENV, PORT_DEFAULT, HEALTH_PATH; fails for an unknown role.
role_spec() {
  PORT_ENV=; PORT_DEFAULT=; HEALTH_PATH=; FLAGS=
  case "$1" in
    migrate)   ENTRY=workers/migrate.ts ;;
    control)   ENTRY=workers/control.ts;   PORT_ENV=CONTROL_HEALTH_PORT;    PORT_DEFAULT=9465;  HEALTH_PATH=/healthz ;;
    collector) ENTRY=workers/collector.ts; PORT_ENV=COLLECTOR_METRICS_PORT; PORT_DEFAULT=9464;  HEALTH_PATH=/healthz
               FLAGS=--max-semi-space-size=64 ;;
    web)       ENTRY=web/server.ts;        PORT_ENV=WEB_PORT;               PORT_DEFAULT=3000;  HEALTH_PATH=/healthz ;;
    simulator) ENTRY=simulator/main.ts;    PORT_ENV=SIM_CONTROL_PORT;       PORT_DEFAULT=57399; HEALTH_PATH=/devices ;;
    *) return 1 ;;
  esac
}

# healthcheck: 0 when the role this container runs answers 200 on its health path.
healthcheck() {
  role=$(cat "$ROLE_FILE" 2>/dev/null) || { echo "no role started yet" >&2; exit 1; }
  role_spec "$role" || exit 1
  [ -n "$HEALTH_PATH" ] || exit 0 # a one-shot role has nothing to ask
  eval "port=\${$PORT_ENV:-$PORT_DEFAULT}"
  exec node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(4000) })
      .then((r) => process.exit(r.ok ? 0 : 1), (e) => { console.error(e.message); process.exit(1); });
  ' "http://127.0.0.1:${port}${HEALTH_PATH}"
}

[ $# -ge 1 ] || { usage; exit 2; }
case "$1" in
  healthcheck) healthcheck ;;
  -h|--help|help) usage; exit 0 ;;
esac
role_spec "$1" || { echo "unknown role: $1" >&2; usage; exit 2; }
[ $# -eq 1 ] || { echo "a role takes no arguments (configure it with environment variables)" >&2; usage; exit 2; }
echo "$1" > "$ROLE_FILE"
# shellcheck disable=SC2086 # FLAGS is a list of node flags
exec node $FLAGS --import tsx "$ENTRY"
