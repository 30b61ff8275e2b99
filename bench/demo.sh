#!/usr/bin/env bash
# The demo: installs what is missing, builds (Release), starts keyrevoke-mock with 20,000 keys behind
# a 1,000 req/s rate limit, revokes a list that mixes live keys, keys already gone and malformed
# lines, with live progress, then prints the summary, the report's location and the mock's own count.
set -euo pipefail
cd "$(dirname "$0")/.."

bash cmake/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

out=demo
mkdir -p "$out"
rm -f "$out"/port "$out"/report.jsonl
# A throwaway management key shared by the mock and the client, through the environment only.
MODELGATES_MANAGEMENT_KEY="demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export MODELGATES_MANAGEMENT_KEY

build/release/keyrevoke-mock --keys 20000 --rate 1000 --burst 100 --retry-after seconds \
  --port 0 --port-file "$out/port" --ca-out "$out/ca.pem" --hashes-out "$out/existing.txt" \
  --stats-out "$out/mock-stats.json" --quiet >"$out/mock.log" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 200); do [[ -s "$out/port" ]] && break; sleep 0.05; done
port=$(cat "$out/port")

# The incident's list: 15,000 live keys, 3,000 already revoked, 20 pasted twice, 3 bad lines.
python3 - "$out" <<'PY'
import secrets, sys
out = sys.argv[1]
live = [l.strip() for l in open(out + "/existing.txt")][:15000]
gone = [secrets.token_hex(32) for _ in range(3000)]
lines = ["# leaked in incident 2026-11-27 (demo)"] + live + gone + live[:20]
lines[5000:5000] = ["sk-mg-v1-" + secrets.token_hex(24), "not a hash", live[0][:63]]
open(out + "/leaked-keys.txt", "w").write("\n".join(lines) + "\n")
PY

echo "== keyrevoke against the mock on https://127.0.0.1:$port (1,000 req/s limit, adaptive)"
set +e
build/release/keyrevoke --base-url "https://127.0.0.1:$port/api/v1" --cacert "$out/ca.pem" \
  --report "$out/report.jsonl" --force --progress always "$out/leaked-keys.txt"
code=$?
set -e
echo
echo "== exit code $code (1 because the list had malformed lines; they are reported as invalid, never sent)"
echo "== report: $out/report.jsonl ($(wc -l <"$out/report.jsonl") rows); a few of them:"
grep -m2 '"deleted"' "$out/report.jsonl"
grep -m1 '"not_found"' "$out/report.jsonl"
grep -m1 '"invalid"' "$out/report.jsonl"
echo "== the mock's ground truth:"
curl -s --cacert "$out/ca.pem" "https://127.0.0.1:$port/__admin/stats" |
  python3 -c 'import json,sys; s=json.load(sys.stdin); print("  keys deleted %d, remaining %d; answers %s" % (s["keys"]["deleted"], s["keys"]["remaining"], s["status_counts"]))'
[[ $code -eq 1 ]]

echo
echo "== the incident workflow on the keys left: select the keys created in the leak window, contain them,"
echo "   plan, revoke exactly the plan, prove each deletion; production keys (label prod-*) are protected"
K=(--base-url "https://127.0.0.1:$port/api/v1" --cacert "$out/ca.pem")
printf '%s\n' '# never touch production keys' 'label:prod-*' >"$out/keep.txt"
since=$(date -u -d '30 days ago' +%F)
build/release/keyrevoke list "${K[@]}" --created-after "$since" >"$out/selected.txt"
echo "-- selected $(wc -l <"$out/selected.txt") keys created since $since"
build/release/keyrevoke "${K[@]}" --disable --verify --protect "$out/keep.txt" --report "$out/contain.jsonl" \
  --force --quiet "$out/selected.txt"
build/release/keyrevoke --plan "${K[@]}" --protect "$out/keep.txt" "$out/selected.txt" >"$out/plan.json"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$out/plan.json")
build/release/keyrevoke "${K[@]}" --confirm "$digest" --protect "$out/keep.txt" --verify --report "$out/revoke.jsonl" \
  --force --quiet "$out/selected.txt"
echo "-- proofs: $(grep -c '"type":"verify","hash":"[0-9a-f]*","proof":"verified","observed":"gone"' "$out/revoke.jsonl") keys verified gone; header:"
head -1 "$out/revoke.jsonl"
