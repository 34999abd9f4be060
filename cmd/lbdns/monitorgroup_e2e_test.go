package main

// End-to-end tests of monitor groups: `lbdns serve` probing real loopback HTTP origins with a
// group of monitors (one path each), the quorum, must_be_healthy and monitoring_only rules
// seen in DNS answers and in the pool health API, and a group created through the API.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/api"
)

var (
	mgPrimary   = []string{"127.0.0.61", "127.0.0.62"}
	mgSecondary = []string{"127.0.0.63", "127.0.0.64"}
	mgPaths     = []string{"/a", "/b", "/c", "/d"}
)

// mgOrigins are HTTP origins on several loopback addresses sharing one port; each path's
// status is set per address.
type mgOrigins struct {
	port   int
	status map[string]*atomic.Int32 // ip + path
}

func startMGOrigins(t *testing.T, ips ...string) *mgOrigins {
	t.Helper()
	lns, port := listenOnePort(t, ips...)
	o := &mgOrigins{port: port, status: map[string]*atomic.Int32{}}
	for i, ln := range lns {
		ip := ips[i]
		for _, p := range mgPaths {
			s := &atomic.Int32{}
			s.Store(http.StatusOK)
			o.status[ip+p] = s
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := o.status[ip+r.URL.Path]
			if s == nil {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(int(s.Load()))
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	return o
}

// set gives path the status on every ip.
func (o *mgOrigins) set(path string, status int, ips ...string) {
	for _, ip := range ips {
		o.status[ip+path].Store(int32(status))
	}
}

// mgConfig: monitors mon-a..mon-d (paths /a../d, interval 5, timeout 1, retries 0) and the
// group "app": a (must_be_healthy), b, c, d (monitoring_only). The primary pool uses the group;
// the secondary pool is not monitored.
func mgConfig(port int) string {
	var b strings.Builder
	b.WriteString("monitors:\n")
	for _, p := range mgPaths {
		fmt.Fprintf(&b, "  - { name: mon-%s, type: http, path: %s, interval: 5, timeout: 1, retries: 0, expected_codes: \"200\" }\n", p[1:], p)
	}
	fmt.Fprintf(&b, `monitor_groups:
  - name: app
    description: login, api and static must answer
    members:
      - { monitor_id: mon-a, must_be_healthy: true }
      - { monitor_id: mon-b }
      - { monitor_id: mon-c }
      - { monitor_id: mon-d, monitoring_only: true }
pools:
  - name: primary
    monitor_group: app
    origins:
      - { name: p1, address: %[2]s, port: %[1]d }
      - { name: p2, address: %[3]s, port: %[1]d }
  - name: secondary
    origins:
      - { name: s1, address: %[4]s, port: %[1]d }
      - { name: s2, address: %[5]s, port: %[1]d }
load_balancers:
  - name: grp.example.test
    steering_policy: "off"
    default_pools: [primary, secondary]
    fallback_pool: secondary
`, port, mgPrimary[0], mgPrimary[1], mgSecondary[0], mgSecondary[1])
	return b.String()
}

// mgPoolHealth returns the pool health API's result for pool id as text.
func mgPoolHealth(t *testing.T, c *rawClient, id string) string {
	t.Helper()
	return string(c.ok(t, "GET", acct+"/pools/"+id+"/health", nil).Result)
}

// mgWaitHealth polls the pool health until it contains every sub, within limit.
func mgWaitHealth(t *testing.T, c *rawClient, id string, limit time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		h := mgPoolHealth(t, c, id)
		all := true
		for _, s := range subs {
			all = all && strings.Contains(h, s)
		}
		if all {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool health still %s after %s, want %q", h, limit, subs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mgAnswerNow returns the sorted A addresses of name.
func mgAnswerNow(t *testing.T, addr, name string) []string {
	t.Helper()
	a, err := lookupA(&dns.Client{Net: "udp", Timeout: time.Second}, addr, name)
	if err != nil {
		t.Fatal(err)
	}
	return a.IPs
}

// probeWait bounds one verdict: an interval of 5 s plus the timeout, with slack.
const probeWait = 12 * time.Second

func TestMonitorGroupE2E(t *testing.T) {
	o := startMGOrigins(t, append(slices.Clone(mgPrimary), mgSecondary...)...)
	dir, cfg := writeAPIFiles(t, mgConfig(o.port))
	s := startAPIServe(t, dir, cfg)
	c := newRaw(s.base, e2eWriteToken)
	const name = "grp.example.test"
	primaryID := ""
	var pools []struct {
		ID, Name     string
		MonitorGroup string `json:"monitor_group"`
	}
	c.ok(t, "GET", acct+"/pools", nil).into(t, &pools)
	for _, p := range pools {
		if p.Name == "primary" {
			primaryID = p.ID
			if p.MonitorGroup == "" {
				t.Fatalf("primary pool without monitor_group: %+v", p)
			}
		}
	}
	if primaryID == "" {
		t.Fatalf("no primary pool: %+v", pools)
	}
	// The file's group is listed, and read-only.
	var groups []struct {
		ID      string
		Members []struct {
			MonitorID      string `json:"monitor_id"`
			MustBeHealthy  bool   `json:"must_be_healthy"`
			MonitoringOnly bool   `json:"monitoring_only"`
		}
	}
	c.ok(t, "GET", acct+"/monitor_groups", nil).into(t, &groups)
	if len(groups) != 1 || len(groups[0].Members) != 4 || !groups[0].Members[0].MustBeHealthy || !groups[0].Members[3].MonitoringOnly {
		t.Fatalf("monitor groups: %+v", groups)
	}
	wantError(t, "PATCH file group", c.do(t, "PATCH", acct+"/monitor_groups/"+groups[0].ID, `{"description":"x"}`), http.StatusConflict, "config file")

	waitAnswer(t, s.DNS, name, mgPrimary, probeWait)
	mgWaitHealth(t, c, primaryID, probeWait, `"healthy":true`)

	// (a) one voting, non-critical member fails on both origins: still healthy.
	o.set("/b", http.StatusInternalServerError, mgPrimary...)
	h := mgWaitHealth(t, c, primaryID, probeWait, "mon-b: ")
	if strings.Contains(h, `"healthy":false`) {
		t.Fatalf("(a) one of three failing made an origin unhealthy: %s", h)
	}
	if got := mgAnswerNow(t, s.DNS, name); !slices.Equal(got, mgPrimary) {
		t.Fatalf("(a) answer %v, want the primary %v", got, mgPrimary)
	}

	// (b) two of three: unhealthy, DNS moves to the secondary pool.
	o.set("/c", http.StatusInternalServerError, mgPrimary...)
	waitAnswer(t, s.DNS, name, mgSecondary, probeWait)
	mgWaitHealth(t, c, primaryID, probeWait, "2 of 3 voting members fail", "mon-b", "mon-c")
	o.set("/b", http.StatusOK, mgPrimary...)
	o.set("/c", http.StatusOK, mgPrimary...)
	waitAnswer(t, s.DNS, name, mgPrimary, probeWait)

	// (c) the must_be_healthy member fails alone: unhealthy.
	o.set("/a", http.StatusInternalServerError, mgPrimary...)
	waitAnswer(t, s.DNS, name, mgSecondary, probeWait)
	mgWaitHealth(t, c, primaryID, probeWait, "must_be_healthy member fails: mon-a")
	o.set("/a", http.StatusOK, mgPrimary...)
	waitAnswer(t, s.DNS, name, mgPrimary, probeWait)

	// (d) the monitoring_only member fails: nothing changes.
	o.set("/d", http.StatusInternalServerError, mgPrimary...)
	h = mgWaitHealth(t, c, primaryID, probeWait, "mon-d: ", "(monitoring only)")
	if strings.Contains(h, `"healthy":false`) {
		t.Fatalf("(d) a monitoring_only member made an origin unhealthy: %s", h)
	}
	if got := mgAnswerNow(t, s.DNS, name); !slices.Equal(got, mgPrimary) {
		t.Fatalf("(d) answer %v, want the primary %v", got, mgPrimary)
	}

	// The origin events name the transitions of the aggregated state.
	var events []struct {
		Pool    struct{ Name string }
		Origins []struct {
			Name          string
			Healthy       bool
			FailureReason string `json:"failure_reason"`
		}
	}
	c.ok(t, "GET", "/accounts/"+e2eAccount+"/load_balancing_analytics/events", nil).into(t, &events)
	down := 0
	for _, e := range events {
		if e.Pool.Name == "primary" && len(e.Origins) == 1 && !e.Origins[0].Healthy && strings.Contains(e.Origins[0].FailureReason, "monitor group") {
			down++
		}
	}
	if down < 4 { // two origins, twice ((b) and (c))
		t.Errorf("%d origin-down events with a monitor group reason, want at least 4: %+v", down, events)
	}
}

// TestMonitorGroupAPIE2E creates monitors, a group, a pool using it and a load balancer through
// the API (raw HTTP: cloudflare-go v0.119 has no monitor group methods), sees the group decide
// DNS answers, and checks referential integrity and persistence across a restart.
func TestMonitorGroupAPIE2E(t *testing.T) {
	o := startMGOrigins(t, append(slices.Clone(mgPrimary), mgSecondary...)...)
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	c := newRaw(s.base, e2eWriteToken)
	const name = "api-grp.example.test"

	var ids []string
	for _, p := range mgPaths[:3] {
		var m struct{ ID string }
		c.ok(t, "POST", acct+"/monitors", map[string]any{
			"type": "http", "path": p, "interval": 5, "timeout": 1, "retries": 0, "expected_codes": "200", "description": "path " + p,
		}).into(t, &m)
		ids = append(ids, m.ID)
	}
	// Validation names the field.
	wantError(t, "unknown member", c.do(t, "POST", acct+"/monitor_groups", `{"members":[{"monitor_id":"nope"}]}`),
		http.StatusBadRequest, `members[0].monitor_id: unknown monitor "nope"`)
	var g struct {
		ID        string
		CreatedAt string `json:"created_at"`
	}
	e := c.ok(t, "POST", acct+"/monitor_groups", map[string]any{"description": "api group", "members": []map[string]any{
		{"monitor_id": ids[0], "enabled": true, "must_be_healthy": true, "monitoring_only": false},
		{"monitor_id": ids[1], "enabled": true},
		{"monitor_id": ids[2], "enabled": false},
	}})
	checkEnvelope(t, "create group", e, false)
	e.into(t, &g)
	if !hex32.MatchString(g.ID) || g.CreatedAt == "" {
		t.Fatalf("group: %s", e.Result)
	}
	origin := func(n, ip string) map[string]any {
		return map[string]any{"name": n, "address": ip, "port": o.port}
	}
	var primary, secondary struct{ ID string }
	c.ok(t, "POST", acct+"/pools", map[string]any{"name": "gp", "monitor_group": g.ID,
		"origins": []any{origin("p1", mgPrimary[0]), origin("p2", mgPrimary[1])}}).into(t, &primary)
	c.ok(t, "POST", acct+"/pools", map[string]any{"name": "gs",
		"origins": []any{origin("s1", mgSecondary[0]), origin("s2", mgSecondary[1])}}).into(t, &secondary)
	c.ok(t, "POST", "/zones/"+api.ZoneID("example.test")+"/load_balancers", map[string]any{
		"name": name, "default_pools": []string{primary.ID, secondary.ID}, "fallback_pool": secondary.ID, "steering_policy": "off",
	})
	waitAnswer(t, s.DNS, name, mgPrimary, probeWait)

	// The disabled member's path failing changes nothing; the must_be_healthy one fails over.
	o.set("/c", http.StatusInternalServerError, mgPrimary...)
	o.set("/a", http.StatusInternalServerError, mgPrimary...)
	waitAnswer(t, s.DNS, name, mgSecondary, probeWait)
	h := mgWaitHealth(t, c, primary.ID, probeWait, "must_be_healthy member fails: path /a")
	if strings.Contains(h, "path /c") {
		t.Errorf("a disabled member shows in the health: %s", h)
	}
	// Enabling the failing member /c and making /a healthy: 1 of 2 voting members fail (not more
	// than half), so the pool is back.
	o.set("/a", http.StatusOK, mgPrimary...)
	c.ok(t, "PATCH", acct+"/monitor_groups/"+g.ID, map[string]any{"members": []map[string]any{
		{"monitor_id": ids[0], "must_be_healthy": true}, {"monitor_id": ids[2]},
	}})
	waitAnswer(t, s.DNS, name, mgPrimary, probeWait)
	mgWaitHealth(t, c, primary.ID, probeWait, "path /c: ")

	// Referential integrity: the group is used by the pool, its monitors by the group.
	wantError(t, "delete used group", c.do(t, "DELETE", acct+"/monitor_groups/"+g.ID, nil), http.StatusBadRequest, `pool "gp" (`+primary.ID+`)`)
	wantError(t, "delete member monitor", c.do(t, "DELETE", acct+"/monitors/"+ids[0], nil), http.StatusBadRequest, "monitor group", g.ID)

	// After a restart the group is still there and still decides.
	s.stop()
	s = startAPIServe(t, dir, cfg)
	c = newRaw(s.base, e2eWriteToken)
	var got struct {
		ID      string
		Members []struct {
			MonitorID string `json:"monitor_id"`
		}
	}
	c.ok(t, "GET", acct+"/monitor_groups/"+g.ID, nil).into(t, &got)
	if got.ID != g.ID || len(got.Members) != 2 || got.Members[1].MonitorID != ids[2] {
		t.Fatalf("after restart: %+v", got)
	}
	o.set("/a", http.StatusInternalServerError, mgPrimary...)
	waitAnswer(t, s.DNS, name, mgSecondary, probeWait)
}
