package main

// Crash safety of API writes (CONTRACT §4, ruling 30): a 2xx means the write is on disk, so it
// survives `kill -9` at any moment, and the store opens cleanly afterwards.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/api"
	"github.com/lbdns/lbdns/pkg/model"
)

// crashObj is what the test knows of one API-created object: its kind, its unique marker
// (pool name, monitor description) and the version field the writes change (pool
// description, monitor path, load balancer ttl).
type crashObj struct {
	kind    string // "pools", "monitors", "lb"
	marker  string
	version string
}

// crashOp is one write of a round.
type crashOp struct {
	method, path string
	body         map[string]any
	kind         string
	id           string // "" for a create
	marker       string // create: the new object's marker
	version      string // create/patch: the version written
	del          bool
}

// TestCrashSafetyKill9: rounds of writes through the API, each ended by SIGKILL of lbdns at a
// random moment (seeded), then a restart; every write that got a 2xx must be there, the write
// in flight at the kill may or may not be, nothing else may appear, and DNS serves the stored
// load balancer. LBDNS_CRASH_ROUNDS (default 100) and LBDNS_CRASH_SEED (default 1) tune it.
func TestCrashSafetyKill9(t *testing.T) {
	rounds := envInt(t, "LBDNS_CRASH_ROUNDS", 100)
	seed := envInt(t, "LBDNS_CRASH_SEED", 1)
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc7a5))
	start := time.Now()

	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	// A load balancer whose ttl the rounds change: DNS after a restart must serve the stored one.
	base := createPool(t, w, "base", "192.0.2.77")
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	var lb model.LoadBalancer
	w.ok(t, "POST", zl, map[string]any{"name": "crash.example.test", "ttl": 100, "default_pools": []string{base}, "fallback_pool": base}).into(t, &lb)

	known := map[string]crashObj{lb.ID: {kind: "lb", marker: "crash.example.test", version: "100"}}
	var acked, inflightApplied, inflightLost, totalWrites int
	for round := 0; round < rounds; round++ {
		rrng := rand.New(rand.NewPCG(uint64(seed), uint64(round)))
		ops := make(chan crashOp)
		type result struct {
			op     crashOp
			id     string
			ok     bool
			detail string
		}
		results := make(chan result, 1024)
		// The writer sends the planned ops one at a time and stops at the first failure.
		c := newRaw(s.base, e2eWriteToken)
		c.hc.Transport = &http.Transport{}
		go func() {
			defer close(results)
			for op := range ops {
				var body any
				if op.body != nil {
					body = op.body
				}
				e, err := c.try(op.method, op.path, body)
				r := result{op: op}
				switch {
				case err != nil:
					r.detail = err.Error()
				case e.Status != http.StatusOK || !e.Success:
					r.detail = fmt.Sprintf("HTTP %d %s", e.Status, e.Body)
				default:
					r.ok = true
					if op.id == "" && !op.del {
						var o struct{ ID string }
						if err := json.Unmarshal(e.Result, &o); err != nil || o.ID == "" {
							r.ok, r.detail = false, fmt.Sprintf("HTTP 200 without an id: %s", e.Body)
						}
						r.id = o.ID
					}
				}
				results <- r
				if !r.ok {
					for range ops { // drain: nothing more is sent
					}
					return
				}
			}
		}()
		// The planner sees the state the acknowledged writes make.
		cur := cloneKnown(known)
		killAfter := time.Duration(rng.IntN(51)) * time.Millisecond
		killed := make(chan struct{})
		go func() {
			time.Sleep(killAfter)
			_ = s.cmd.Process.Kill() // SIGKILL
			close(killed)
		}()
		var got []result
		var pending *crashOp
	plan:
		for i := 0; ; i++ {
			op := planOp(rrng, cur, round, i, lb.ID, zl)
			select {
			case ops <- op:
			case <-killed:
				break plan
			}
			r, more := <-results
			if !more {
				break plan
			}
			got = append(got, r)
			totalWrites++
			if !r.ok {
				pending = &r.op
				break plan
			}
			applyOp(cur, r.op, r.id)
			acked++
		}
		close(ops)
		<-killed
		<-s.done
		for r := range results { // a last result raced with the kill
			got = append(got, r)
			totalWrites++
			if !r.ok {
				pending = &r.op
			} else {
				applyOp(cur, r.op, r.id)
				acked++
			}
		}
		for _, r := range got {
			if !r.ok && !isConnErr(r.detail) {
				t.Errorf("round %d: %s %s: %s", round, r.op.method, r.op.path, r.detail)
			}
		}

		// Restart: the store must open and every acknowledged write must be there.
		s = startAPIServe(t, dir, cfg)
		if strings.Contains(s.logText(), `"level":"error"`) {
			t.Fatalf("round %d: errors logged at start after kill -9:\n%s", round, s.logText())
		}
		actual := listKnown(t, s)
		next, applied, err := reconcile(cur, actual, pending)
		if err != nil {
			t.Fatalf("round %d (kill after %s, %d writes acked this round, in flight: %v): %v", round, killAfter, len(got), describe(pending), err)
		}
		if pending != nil {
			if applied {
				inflightApplied++
			} else {
				inflightLost++
			}
		}
		known = next
		// DNS serves the stored load balancer's ttl.
		wantTTL, _ := strconv.Atoi(known[lb.ID].version)
		a, err := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, "crash.example.test")
		if err != nil || !slices.Equal(a.IPs, []string{"192.0.2.77"}) || a.TTLs[0] != uint32(wantTTL) {
			t.Fatalf("round %d: crash.example.test %v (err %v), want 192.0.2.77 ttl %d", round, a, err, wantTTL)
		}
	}
	s.stop()
	t.Logf("%d rounds (seed %d) in %s: %d writes, %d acknowledged and all kept; write in flight at the kill: %d applied, %d not; %d objects at the end",
		rounds, seed, time.Since(start).Round(time.Millisecond), totalWrites, acked, inflightApplied, inflightLost, len(known))
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, s)
	}
	return n
}

func isConnErr(detail string) bool {
	return !strings.HasPrefix(detail, "HTTP ")
}

func cloneKnown(m map[string]crashObj) map[string]crashObj {
	out := make(map[string]crashObj, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// planOp chooses the next write: create (half the time), patch or delete of a pool or monitor,
// or a ttl change of the load balancer.
func planOp(rng *rand.Rand, cur map[string]crashObj, round, i int, lbID, zl string) crashOp {
	tag := fmt.Sprintf("r%dw%d", round, i)
	var ids []string
	for id, o := range cur {
		if o.kind != "lb" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	n := rng.IntN(100)
	switch {
	case n < 10:
		ttl := 1 + rng.IntN(86400)
		return crashOp{method: "PATCH", path: zl + "/" + lbID, body: map[string]any{"ttl": ttl}, kind: "lb", id: lbID, version: strconv.Itoa(ttl)}
	case n < 55 || len(ids) == 0:
		if rng.IntN(2) == 0 {
			return crashOp{method: "POST", path: acct + "/pools", kind: "pools", marker: tag, version: "v-" + tag, body: map[string]any{
				"name": tag, "description": "v-" + tag,
				"origins": []map[string]any{{"name": "o", "address": fmt.Sprintf("192.0.2.%d", 1+rng.IntN(200))}},
			}}
		}
		return crashOp{method: "POST", path: acct + "/monitors", kind: "monitors", marker: tag, version: "/" + tag, body: map[string]any{
			"type": "http", "description": tag, "path": "/" + tag, "interval": 60,
		}}
	}
	id := ids[rng.IntN(len(ids))]
	o := cur[id]
	if n < 85 {
		if o.kind == "pools" {
			return crashOp{method: "PATCH", path: acct + "/pools/" + id, kind: o.kind, id: id, version: "v-" + tag, body: map[string]any{"description": "v-" + tag}}
		}
		return crashOp{method: "PATCH", path: acct + "/monitors/" + id, kind: o.kind, id: id, version: "/" + tag, body: map[string]any{"path": "/" + tag}}
	}
	return crashOp{method: "DELETE", path: acct + "/" + o.kind + "/" + id, kind: o.kind, id: id, del: true}
}

// applyOp records an acknowledged op (id: the new object's id on a create).
func applyOp(cur map[string]crashObj, op crashOp, id string) {
	switch {
	case op.del:
		delete(cur, op.id)
	case op.id == "":
		cur[id] = crashObj{kind: op.kind, marker: op.marker, version: op.version}
	default:
		o := cur[op.id]
		o.version = op.version
		cur[op.id] = o
	}
}

func describe(op *crashOp) string {
	if op == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %v", op.method, op.path, op.body)
}

// listKnown reads every pool, monitor and load balancer through the API.
func listKnown(t *testing.T, s *apiServer) map[string]crashObj {
	t.Helper()
	r := newRaw(s.base, e2eReadToken)
	out := map[string]crashObj{}
	var pools []model.Pool
	e := r.ok(t, "GET", acct+"/pools", nil)
	e.into(t, &pools)
	for _, p := range pools {
		if p.Name == "base" {
			continue
		}
		out[p.ID] = crashObj{kind: "pools", marker: p.Name, version: p.Description}
	}
	var mons []model.Monitor
	r.ok(t, "GET", acct+"/monitors", nil).into(t, &mons)
	for _, m := range mons {
		out[m.ID] = crashObj{kind: "monitors", marker: m.Description, version: m.Path}
	}
	var lbs []model.LoadBalancer
	r.ok(t, "GET", "/zones/"+api.ZoneID("example.test")+"/load_balancers", nil).into(t, &lbs)
	for _, lb := range lbs {
		ttl := 0
		if lb.TTL != nil {
			ttl = *lb.TTL
		}
		out[lb.ID] = crashObj{kind: "lb", marker: lb.Name, version: strconv.Itoa(ttl)}
	}
	return out
}

// reconcile checks the state after a restart (actual) against the acknowledged state (want)
// and the write in flight at the kill (pending, may be nil), which may or may not have been
// applied. It returns the state to continue from and whether pending was applied.
func reconcile(want, actual map[string]crashObj, pending *crashOp) (map[string]crashObj, bool, error) {
	applied := false
	var problems []string
	for id, w := range want {
		a, ok := actual[id]
		if pending != nil && pending.id == id {
			switch {
			case pending.del && !ok:
				applied = true
				continue
			case !pending.del && ok && a.version == pending.version && a.marker == w.marker:
				applied = true
				continue
			}
		}
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("acknowledged %s %s (%s) is missing", w.kind, id, w.marker))
		case a != w:
			problems = append(problems, fmt.Sprintf("%s %s is %+v, acknowledged %+v", w.kind, id, a, w))
		}
	}
	for id, a := range actual {
		if _, ok := want[id]; ok {
			continue
		}
		if pending != nil && pending.id == "" && !pending.del && a.kind == pending.kind && a.marker == pending.marker && a.version == pending.version && !applied {
			applied = true
			continue
		}
		problems = append(problems, fmt.Sprintf("%s %s %+v was never acknowledged", a.kind, id, a))
	}
	if len(problems) > 0 {
		return nil, false, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return actual, applied, nil
}
