#!/usr/bin/env bash
# Installs the real peers the test suite drives (Debian packages), when missing:
#   sipp (sip-tester), sipsak, redis-server, openssl, and the softphones and
#   scanner of test/e2e/register-softphones.test.ts: baresip (baresip-core),
#   linphonec (linphone-cli), svwar (sipvicious), espeak-ng (<Say>), and the
#   headless chromium that test/e2e/demo-page.test.ts drives with playwright-core.
# As root it runs apt-get; otherwise it prints the command to run.
# (The packages that build mediasoup's worker are not here: `npm ci` installs
#  them itself, see scripts/mediasoup-worker/ensure-worker.mjs.)
set -euo pipefail

need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v sipsak >/dev/null 2>&1 || need+=(sipsak)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
command -v linphonec >/dev/null 2>&1 || need+=(linphone-cli)
command -v svwar >/dev/null 2>&1 || need+=(sipvicious)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  echo "test dependencies present: sipp sipsak redis-server openssl baresip linphonec svwar espeak-ng chromium"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing test dependencies; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${need[*]}" >&2
  exit 1
fi

echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
