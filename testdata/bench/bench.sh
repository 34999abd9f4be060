#!/usr/bin/env bash
# bench.sh [SECONDS] [ROUNDS]: dnsperf against Knot and lbdns on loopback, one after the other,
# interleaved ROUNDS times (default 3 rounds of 8 s). The server is pinned to CPU 0 and dnsperf
# to CPU 1; for each run it prints queries/s and the server's CPU time per query, read from the
# server's own /proc accounting (utime+stime of its process tree) over the run. Then the medians
# and the ratios: lbdns/Knot on the static mix (queries.txt), lbdns/gdnsd-dyna on the LB mix
# (queries-lb.txt: weighted, failover and by-network names), and lbdns's LB mix against its
# static figure of the same run. All traffic stays on 127.0.0.1; every run stops by itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-8}; rounds=${2:-3}
bin=$top/bin/lbdns
for b in dnsperf knotd gdnsd dig taskset; do command -v $b >/dev/null || { echo "bench: $b missing (make deps)" >&2; exit 2; }; done
[ -x "$bin" ] || { echo "bench: build first (make build)" >&2; exit 2; }
ncpu=$(nproc); scpu=0; ccpu=$(( ncpu > 1 ? 1 : 0 ))
work=$(mktemp -d /tmp/lbdns-bench.XXXX); trap 'rm -rf "$work"' EXIT

tree() { local c; echo $1; for c in $(pgrep -P $1); do tree $c; done; }
cpu_of() { local t=0 p v; for p in $(tree $1); do v=$(sed 's/^.*) //' /proc/$p/stat 2>/dev/null | awk '{print $12+$13}'); t=$((t + ${v:-0})); done; echo $t; }
ready() { for i in $(seq 1 100); do dig +short +time=1 +tries=1 -p $1 @127.0.0.1 $2 A 2>/dev/null | grep -q . && return 0; sleep 0.1; done; return 1; }

# run NAME PORT QUERYFILE CMD...: start the server, measure, stop it; prints "NAME qps us_per_query".
run() {
  local name=$1 port=$2 qf=$3; shift 3
  taskset -c $scpu "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  if ! ready $port www1.example.test; then echo "bench: $name did not start; log:" >&2; cat "$work/$name.log" >&2; kill $pid 2>/dev/null; exit 1; fi
  ready $port ns1.lb.test || true
  local c0 c1 out
  c0=$(cpu_of $pid)
  out=$(taskset -c $ccpu dnsperf -s 127.0.0.1 -p $port -d "$qf" -l $secs -c 8 -T 1 -q 200 2>&1)
  c1=$(cpu_of $pid)
  kill $pid; wait $pid 2>/dev/null
  local qps done_q
  qps=$(awk '/Queries per second/{print $4}' <<<"$out")
  done_q=$(awk '/Queries completed/{print $3}' <<<"$out")
  awk -v n=$name -v q=$qps -v a=$c0 -v b=$c1 -v t=$(getconf CLK_TCK) -v d=$done_q \
    'BEGIN{ printf "%s qps=%.0f server_cpu_us_per_query=%.2f\n", n, q, (d>0 ? (b-a)/t*1e6/d : 0) }'
}

sed "s#ZONEDIR#$here#; s#/tmp/bench-knot#$work/knot#" > "$work/knot.conf" <<'KNOT'
server:
    listen: 127.0.0.1@5321
    rundir: "/tmp/bench-knot"
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
database:
    storage: "/tmp/bench-knot"
log:
  - target: stderr
    any: warning
zone:
  - domain: example.test
    file: "ZONEDIR/example.test.zone"
  - domain: lb.test
    file: "ZONEDIR/lb.test.zone"
KNOT
mkdir -p "$work/knot"
# gdnsd with DYNA records for lb.test (plugins weighted, metafo, geoip: the LB workload's peer).
g=$work/gdnsd; mkdir -p "$g/zones"
sed -e "s#PORT#5322#" -e "s#RUNDIR#$g#" "$here/gdnsd/config" > "$g/config"; cat "$here/gdnsd/plugins.cfg" >> "$g/config"
cp "$here/example.test.zone" "$g/zones/example.test"; cp "$here/gdnsd/lb.test.dyna.zone" "$g/zones/lb.test"
all=""
for r in $(seq 1 $rounds); do
  l1=$(run knot 5321 "$here/queries.txt" knotd -c "$work/knot.conf"); echo "round $r: $l1"
  l2=$(run lbdns-static 5320 "$here/queries.txt" env GOMAXPROCS=1 "$bin" serve --config "$here/lbdns-lb.yaml"); echo "round $r: $l2"
  l3=$(run lbdns-lb 5320 "$here/queries-lb.txt" env GOMAXPROCS=1 "$bin" serve --config "$here/lbdns-lb.yaml"); echo "round $r: $l3"
  l4=$(run gdnsd-dyna 5322 "$here/queries-lb.txt" gdnsd -c "$g" start); echo "round $r: $l4"
  all="$all$l1"$'\n'"$l2"$'\n'"$l3"$'\n'"$l4"$'\n'
done
echo
awk '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
                                  return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  { split($2, q, "="); split($3, c, "="); n[$1]++; Q[$1, n[$1]] = q[2]; C[$1, n[$1]] = c[2] }
  END {
    printf "| server | workload | qps (median) | server CPU us/query (median) |\n| --- | --- | ---: | ---: |\n"
    split("knot lbdns-static gdnsd-dyna lbdns-lb", names, " ")
    for (k = 1; k <= 4; k++) { s = names[k]; for (i = 1; i <= n[s]; i++) { qa[i] = Q[s, i]; ca[i] = C[s, i] }
      mq[s] = med(qa, n[s]); mc[s] = med(ca, n[s])
      printf "| %s | %s | %.0f | %.2f |\n", s, ((s == "lbdns-lb" || s == "gdnsd-dyna") ? "queries-lb.txt" : "queries.txt"), mq[s], mc[s] }
    printf "\nlbdns/Knot CPU per query, static mix: %.2f\n", mc["lbdns-static"] / mc["knot"]
    printf "lbdns/gdnsd-dyna CPU per query, LB mix: %.2f\n", mc["lbdns-lb"] / mc["gdnsd-dyna"]
    printf "lbdns LB mix / lbdns static mix, CPU per query: %.2f (qps %.0f vs %.0f)\n", mc["lbdns-lb"] / mc["lbdns-static"], mq["lbdns-lb"], mq["lbdns-static"]
  }' <<<"$all"
