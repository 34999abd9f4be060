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
	"sync"
	"syscall"
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

// TestCrashSafetyKill9: rounds of writes through the API by 1 to 4 concurrent clients, each
// round ended by SIGKILL of lbdns at a random moment (seeded; every fifth round SIGTERM, which
// must exit 0), then a restart. Every write
// that got a 2xx must be there; each client's write in flight at the kill may or may not be;
// nothing else may appear; the store opens without errors and DNS serves the stored load
// balancer. Clients touch disjoint objects, so each object has at most one write in flight.
// LBDNS_CRASH_ROUNDS (default 100) and LBDNS_CRASH_SEED (default 1) tune it.
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
		writers := 1 + round%4
		killAfter := time.Duration(rng.IntN(51)) * time.Millisecond
		type outcome struct {
			mine    map[string]crashObj // the writer's objects after its acknowledged writes
			acked   int
			pending *crashOp // the write that failed (in flight at the kill), if any
			writes  int
			errs    []string
		}
		outs := make([]outcome, writers)
		var wg sync.WaitGroup
		for k := 0; k < writers; k++ {
			mine := map[string]crashObj{}
			for id, o := range known {
				if owner(o, lb.ID, id) == k {
					mine[id] = o
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rrng := rand.New(rand.NewPCG(uint64(seed), uint64(round*8+k)))
				c := newRaw(s.base, e2eWriteToken)
				c.hc.Transport = &http.Transport{}
				defer c.hc.CloseIdleConnections()
				out := outcome{mine: mine}
				for i := 0; i < 10000; i++ {
					op := planOp(rrng, mine, fmt.Sprintf("r%dw%dk%d", round, i, k), k == 0, lb.ID, zl)
					out.writes++
					var body any
					if op.body != nil {
						body = op.body
					}
					e, err := c.try(op.method, op.path, body)
					if err == nil && (e.Status != http.StatusOK || !e.Success) {
						out.errs = append(out.errs, fmt.Sprintf("%s %s: HTTP %d %s", op.method, op.path, e.Status, e.Body))
						err = fmt.Errorf("HTTP %d", e.Status)
					}
					id := ""
					if err == nil && op.id == "" && !op.del {
						var o struct{ ID string }
						if jerr := json.Unmarshal(e.Result, &o); jerr != nil || o.ID == "" {
							out.errs = append(out.errs, fmt.Sprintf("%s %s: 200 without an id: %s", op.method, op.path, e.Body))
							err = fmt.Errorf("no id")
						}
						id = o.ID
					}
					if err != nil {
						out.pending = &op
						break
					}
					applyOp(mine, op, id)
					out.acked++
				}
				outs[k] = out
			}()
		}
		time.Sleep(killAfter)
		// Every fifth round ends with SIGTERM instead: writes in flight drain or fail cleanly,
		// and lbdns exits 0.
		term := round%5 == 4
		if term {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		} else {
			_ = s.cmd.Process.Kill() // SIGKILL
		}
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			t.Fatalf("round %d: lbdns did not exit within 15 s of SIGTERM", round)
		}
		if term && s.err != nil {
			t.Errorf("round %d: exit after SIGTERM during writes: %v\n%s", round, s.err, s.logText())
		}
		wg.Wait()

		cur := map[string]crashObj{}
		for id, o := range known {
			if owner(o, lb.ID, id) >= writers {
				cur[id] = o // untouched this round
			}
		}
		var pendings []crashOp
		for _, out := range outs {
			for id, o := range out.mine {
				cur[id] = o
			}
			acked += out.acked
			totalWrites += out.writes
			if out.pending != nil {
				pendings = append(pendings, *out.pending)
			}
			for _, e := range out.errs {
				t.Errorf("round %d: %s", round, e)
			}
		}

		// Restart: the store must open and every acknowledged write must be there.
		s = startAPIServe(t, dir, cfg)
		if strings.Contains(s.logText(), `"level":"error"`) {
			t.Fatalf("round %d: errors logged at start after kill -9:\n%s", round, s.logText())
		}
		actual := listKnown(t, s)
		next, applied, err := reconcile(cur, actual, pendings)
		if err != nil {
			t.Fatalf("round %d (%d writers, kill after %s, in flight: %v): %v", round, writers, killAfter, describe(pendings), err)
		}
		inflightApplied += applied
		inflightLost += len(pendings) - applied
		known = next
		// DNS serves the stored load balancer's ttl.
		wantTTL, _ := strconv.Atoi(known[lb.ID].version)
		a, err := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, "crash.example.test")
		if err != nil || !slices.Equal(a.IPs, []string{"192.0.2.77"}) || a.TTLs[0] != uint32(wantTTL) {
			t.Fatalf("round %d: crash.example.test %v (err %v), want 192.0.2.77 ttl %d", round, a, err, wantTTL)
		}
	}
	s.stop()
	t.Logf("%d rounds (seed %d, 1-4 writers, 1 in 5 ended by SIGTERM) in %s: %d writes, %d acknowledged and all kept; writes in flight at the kill: %d applied, %d not; %d objects at the end",
		rounds, seed, time.Since(start).Round(time.Millisecond), totalWrites, acked, inflightApplied, inflightLost, len(known))
}

// owner is the writer that may touch an object: writer 0 for the load balancer, else the k
// in the object's marker ("r3w5k2").
func owner(o crashObj, lbID, id string) int {
	if id == lbID {
		return 0
	}
	i := strings.LastIndexByte(o.marker, 'k')
	k, err := strconv.Atoi(o.marker[i+1:])
	if i < 0 || err != nil {
		return 0
	}
	return k
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

// planOp chooses the next write: create (half the time), patch or delete of a pool or monitor,
// or a ttl change of the load balancer.
func planOp(rng *rand.Rand, cur map[string]crashObj, tag string, withLB bool, lbID, zl string) crashOp {
	var ids []string
	for id, o := range cur {
		if o.kind != "lb" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	n := rng.IntN(100)
	switch {
	case n < 10 && withLB:
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

func describe(ops []crashOp) string {
	if len(ops) == 0 {
		return "none"
	}
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %s %v", op.method, op.path, op.body))
	}
	return strings.Join(parts, "; ")
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
// and the writes in flight at the kill (pending: each may or may not have been applied; they
// touch distinct objects). It returns the state to continue from and how many were applied.
func reconcile(want, actual map[string]crashObj, pending []crashOp) (map[string]crashObj, int, error) {
	applied := 0
	byID := map[string]crashOp{}
	creates := map[string]crashOp{}
	for _, op := range pending {
		if op.id != "" {
			byID[op.id] = op
		} else if !op.del {
			creates[op.marker] = op
		}
	}
	var problems []string
	for id, w := range want {
		a, ok := actual[id]
		if op, pend := byID[id]; pend {
			switch {
			case op.del && !ok:
				applied++
				continue
			case !op.del && ok && a.version == op.version && a.marker == w.marker:
				applied++
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
		if op, pend := creates[a.marker]; pend && a.kind == op.kind && a.version == op.version {
			delete(creates, a.marker)
			applied++
			continue
		}
		problems = append(problems, fmt.Sprintf("%s %s %+v was never acknowledged", a.kind, id, a))
	}
	if len(problems) > 0 {
		return nil, 0, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return actual, applied, nil
}
