#!/usr/bin/env bash
# Builds the local test image cube-test/busybox from Debian's busybox-static: no registry
# is reachable here, so nothing is pulled. Idempotent: skips when the image exists.
set -euo pipefail
IMAGE="${CUBE_TEST_IMAGE:-cube-test/busybox:latest}"

# Bump when the image's contents change, so existing machines rebuild it.
REVISION=2
if [ "$(docker image inspect -f '{{index .Config.Labels "cube.test-image"}}' "$IMAGE" 2>/dev/null)" = "$REVISION" ]; then
  exit 0
fi

BUSYBOX="$(command -v busybox || true)"
if [ -z "$BUSYBOX" ] || ! ldd "$BUSYBOX" 2>&1 | grep -q "not a dynamic"; then
  if [ -x /bin/busybox ] && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then
    BUSYBOX=/bin/busybox
  elif [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    BUSYBOX=/bin/busybox
  else
    echo "Need a statically linked busybox (Debian: busybox-static)." >&2
    exit 1
  fi
fi

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
chmod 755 "$ROOT" # mktemp makes it 0700: a task running as a non-root user could not enter /
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/etc" "$ROOT/www"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$ROOT/etc/passwd"
echo 'ok' >"$ROOT/www/index.html"
tar -C "$ROOT" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' \
  --change "LABEL cube.test-image=$REVISION" - "$IMAGE" >/dev/null
echo "built $IMAGE"
