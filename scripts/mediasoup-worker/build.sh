#!/usr/bin/env bash
# Builds mediasoup-worker from Debian bookworm packages only (no GitHub
# prebuilt, no PyPI meson/ninja/invoke, no meson wrapdb) and writes the binary
# to OUT_BIN.
#
#   bash scripts/mediasoup-worker/build.sh MEDIASOUP_DIR OUT_BIN
#
# Adapted from ../shared/reference/mediasoup-worker/build-mediasoup-worker.sh
# (verified with mediasoup 3.27.1 on Node 20, Debian bookworm, gcc 12; its
# NOTES.md explains each step). Differences from the reference:
# - the Debian packages are installed by ensure-worker.mjs (only when missing,
#   only as root), so this script needs no root and does no apt-get;
# - it builds in a temporary copy of MEDIASOUP_DIR/worker: the installed package
#   stays as npm unpacked it, a failed build leaves nothing half-patched behind,
#   and the result goes to a cache outside the clone (ensure-worker.mjs);
# - OUT_BIN is written atomically (temporary name, then rename), so a second
#   install running at the same time never sees half a binary.
# About 7 minutes on 2 cores.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 MEDIASOUP_DIR OUT_BIN" >&2
  exit 2
fi
MEDIASOUP_DIR=$(cd "$1" && pwd)
OUT_BIN=$2
HERE=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-mediasoup-worker.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$MEDIASOUP_DIR/worker" "$tmp/worker"
WORKER_DIR="$tmp/worker"

# System libraries instead of meson subprojects (+ the libsrtp3 -> libsrtp2 and
# unordered_dense -> std:: shims, + the DtlsTransport BIO fix). Without the
# .wrap files meson cannot fall back to downloading anything.
python3 "$HERE/use-system-deps.py" "$WORKER_DIR"
# Herald's own changes (the transport in unknown-SSRC warnings, telephone-event
# forwarded, the patch-level marker): see herald-patches.py.
python3 "$HERE/herald-patches.py" "$WORKER_DIR"
rm -f "$WORKER_DIR"/subprojects/*.wrap

cd "$WORKER_DIR"
# mediasoup 3.13 - 3.20 use liburing >= 2.5 on kernels >= 6; Debian has 2.3.
LIBURING_OFF=""
if grep -q ms_disable_liburing meson_options.txt; then LIBURING_OFF="-Dms_disable_liburing=true"; fi
# shellcheck disable=SC2086 # MESON_ARGS is a list of words on purpose
meson setup out/build --buildtype release -Db_ndebug=true $LIBURING_OFF ${MESON_ARGS:-}
ninja -C out/build mediasoup-worker

# The same check mediasoup's own installer applies to a prebuilt binary: run
# without MEDIASOUP_VERSION it must exit with 41 (it started and linked fine).
status=0
env -i "$WORKER_DIR/out/build/mediasoup-worker" >/dev/null 2>&1 || status=$?
if [ "$status" -ne 41 ]; then
  echo "build.sh: the built mediasoup-worker does not run (exit $status, expected 41)" >&2
  exit 1
fi
if ! grep -q "herald-worker-patches:" "$WORKER_DIR/out/build/mediasoup-worker"; then
  echo "build.sh: the built mediasoup-worker lacks Herald's patch marker" >&2
  exit 1
fi

mkdir -p "$(dirname "$OUT_BIN")"
cp "$WORKER_DIR/out/build/mediasoup-worker" "$OUT_BIN.tmp.$$"
chmod 755 "$OUT_BIN.tmp.$$"
mv -f "$OUT_BIN.tmp.$$" "$OUT_BIN"
ls -l "$OUT_BIN"
