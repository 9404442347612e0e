#!/bin/bash
# Instructions the server executes per request, counted by valgrind (callgrind): unlike time,
# the count does not move with this shared machine's speed, so two versions of the server's
# Python can be compared to the percent.  usage: bench/request_instructions.sh [A|B] [PYTHONPATH]
# Runs one `relasi serve --workers 1` under callgrind on the peer kit's data dir (made by
# bench/peer_compare.py: PEER_DIR, default ~/.cache/relasi-peer), warms it up with 10 s of wrk,
# counts 30 s of `wrk -c8` with the kit's request body, and prints the instructions per request
# (the server's user-space work; the kernel's, such as the socket writes, is not counted).
# A second argument puts another checkout first on the path (PYTHONPATH=../other/checkout).
set -euo pipefail
Q=${1:-A}; PP=${2:-}; PORT=${PORT:-8124}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEER=${PEER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/relasi-peer}
PY=${PYTHON:-$ROOT/.venv/bin/python}
KEY=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['api_key'])" "$PEER/relasi-data/demo-workspace.json")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export RELASI_DATA_DIR=$PEER/relasi-data RELASI_RATE_LIMIT=0 RELASI_LOG_LEVEL=warning AUTH="Bearer $KEY"
unset DATABASE_URL
# from a neutral directory: `python -m` puts the working directory first on the path
(cd "$OUT" && PYTHONPATH=$PP exec valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" \
  "$PY" -m relasi serve --port "$PORT" --workers 1 > "$OUT/server.log" 2>&1) &
SERVER=$!
until curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; do
  kill -0 $SERVER 2>/dev/null || { cat "$OUT/server.log"; exit 1; }; sleep 1
done
URL=http://127.0.0.1:$PORT/graphql BODY=$PEER/queries/relasi_$Q.json LUA=$ROOT/../shared/peer-bench/wrk_post.lua
wrk -t1 -c4 -d10s -s "$LUA" "$URL" -- "$BODY" > /dev/null
callgrind_control -z $SERVER > /dev/null
N=$(wrk -t1 -c8 -d30s -s "$LUA" "$URL" -- "$BODY" | sed -n 's/^WRK_JSON .*"requests":\([0-9]*\).*/\1/p')
callgrind_control -d $SERVER > /dev/null
kill $SERVER; wait $SERVER 2>/dev/null || true
IR=$(grep -m1 '^summary:' "$OUT"/cg.* | awk '{print $2}')
echo "query $Q: $N requests, $((IR / N)) instructions per request"
