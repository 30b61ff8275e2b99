#!/usr/bin/env bash
# The incident modes, measured: each action with and without --verify (50k keys, unlimited mock,
# keyrevoke pinned to one core), keyrevoke list over 100k keys, list | keyrevoke racing on 20k keys,
# and --plan over 1M hashes. Loopback only. Usage: bench/incident.sh (after a Release build).
set -u
MP=
B="$(cd "$(dirname "$0")/.." && pwd)/build/release"
W="$(mktemp -d "${TMPDIR:-/tmp}/keyrevoke-incident.XXXXXX")"; cd "$W"
trap 'kill $MP 2>/dev/null; rm -rf "$W"' EXIT
export MODELGATES_MANAGEMENT_KEY=sk-measure-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
start_mock() {
  rm -f port; $B/keyrevoke-mock --keys $1 --port-file port --ca-out ca.pem --hashes-out hashes.txt --quiet "${@:2}" > mock.log 2>&1 &
  MP=$!; for _ in $(seq 400); do [[ -s port ]] && break; sleep 0.05; done; P=$(cat port)
}
stop_mock() { kill $MP; wait $MP 2>/dev/null; }
run() { local t0=$(date +%s%N); "$@" > /dev/null 2> err.txt; local rc=$?; local t1=$(date +%s%N); echo "$(( (t1 - t0) / 1000000 )) ms rc=$rc"; }
K=(--cacert ca.pem --progress never -q)
for mode in "delete:" "delete+verify:--verify" "disable:--disable" "disable+verify:--disable --verify"; do
  name=${mode%%:*}; args=${mode#*:}
  start_mock 50000
  echo -n "$name 50k: "; run taskset -c 0 $B/keyrevoke --base-url https://127.0.0.1:$P/api/v1 "${K[@]}" $args --report r-$name.jsonl hashes.txt
  stop_mock
done
start_mock 100000
echo -n "list 100k keys: "; run taskset -c 0 $B/keyrevoke list --base-url https://127.0.0.1:$P/api/v1 --cacert ca.pem -q
echo -n "list|revoke 20k under churn: "; stop_mock; start_mock 20000 --latency-ms 2
t0=$(date +%s%N); $B/keyrevoke list --base-url https://127.0.0.1:$P/api/v1 --cacert ca.pem 2> list-err.txt | $B/keyrevoke --base-url https://127.0.0.1:$P/api/v1 "${K[@]}" --report pipe.jsonl - ; t1=$(date +%s%N)
echo "$(( (t1 - t0) / 1000000 )) ms; $(tail -1 list-err.txt)"; curl -s --cacert ca.pem https://127.0.0.1:$P/__admin/stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print("  remaining", s["keys"]["remaining"], "list_requests", s.get("list_requests"))'
stop_mock
python3 -c "
import secrets
with open('1m.txt','w') as f:
    for _ in range(1000000): f.write(secrets.token_hex(32)+'\n')"
echo -n "plan 1M hashes: "
python3 - "$B/keyrevoke" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
with open("plan.json", "wb") as out:
    rc = subprocess.run([sys.argv[1], "--plan", "--base-url", "https://127.0.0.1:1/api/v1", "1m.txt"], stdout=out,
                        stderr=subprocess.DEVNULL).returncode
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("%.2f s, peak RSS %.1f MiB, rc=%d" % (time.monotonic() - t0, rss / 1024, rc))
PY
