package main

// More end-to-end API tests: health failover seen through the API and DNS, load balancers
// beside zone data, PUT/PATCH details, references, and API objects across a SIGHUP reload.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/api"
	"github.com/lbdns/lbdns/pkg/model"
)

// TestAPIHealthFailover: an origin whose listener closes is probed down at the next interval
// (5 s); DNS drops it, the pool health and the pool's origins say so, the pool stays healthy
// (ruling 33) and a health event is recorded.
func TestAPIHealthFailover(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	cf := cfClient(t, s, e2eWriteToken)
	ctx := context.Background()
	acc := cloudflare.AccountIdentifier(e2eAccount)
	zone := cloudflare.ZoneIdentifier(api.ZoneID("example.test"))
	orig := startOrigins(t, "127.0.0.43", "127.0.0.44")
	mon, err := cf.CreateLoadBalancerMonitor(ctx, acc, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
		Type: "http", Method: "GET", Path: "/", Port: orig.Port, Timeout: 1, Retries: 0, Interval: 5,
		ConsecutiveUp: 1, ConsecutiveDown: 1, ExpectedCodes: "200",
	}})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := cf.CreateLoadBalancerPool(ctx, acc, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "hp", Enabled: true, Monitor: mon.ID, Origins: []cloudflare.LoadBalancerOrigin{
			{Name: "h1", Address: "127.0.0.43", Enabled: true, Weight: 1},
			{Name: "h2", Address: "127.0.0.44", Enabled: true, Weight: 1},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cf.CreateLoadBalancer(ctx, zone, cloudflare.CreateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		Name: "hc.example.test", DefaultPools: []string{pool.ID}, FallbackPool: pool.ID,
	}}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, s.DNS, "hc.example.test", []string{"127.0.0.43", "127.0.0.44"}, time.Second)
	waitHealth := func(want map[string]bool, within time.Duration) cloudflare.LoadBalancerPoolHealth {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			ph, err := cf.GetLoadBalancerPoolHealth(ctx, acc, pool.ID)
			if err != nil {
				t.Fatal(err)
			}
			match := false
			for _, pop := range ph.PopHealth {
				got := map[string]bool{}
				for _, m := range pop.Origins {
					for addr, oh := range m {
						got[addr] = oh.Healthy
					}
				}
				match = len(got) == len(want)
				for a, h := range want {
					if v, ok := got[a]; !ok || v != h {
						match = false
					}
				}
			}
			if match {
				return ph
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool health after %s: %+v, want %v", within, ph, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitHealth(map[string]bool{"127.0.0.43": true, "127.0.0.44": true}, 5*time.Second)

	orig.stop("127.0.0.44")
	down := time.Now()
	// Next probe at most one interval (5 s) later, timeout 1 s.
	waitAnswer(t, s.DNS, "hc.example.test", []string{"127.0.0.43"}, 8*time.Second)
	t.Logf("origin down: left DNS after %s", time.Since(down).Round(time.Millisecond))
	ph := waitHealth(map[string]bool{"127.0.0.43": true, "127.0.0.44": false}, time.Second)
	for _, pop := range ph.PopHealth {
		if !pop.Healthy {
			t.Errorf("pool health: healthy=false with one of two origins up (minimum_origins 1, ruling 33)")
		}
		for _, m := range pop.Origins {
			if oh, ok := m["127.0.0.44"]; ok && oh.FailureReason == "" {
				t.Errorf("the down origin has no failure_reason: %+v", oh)
			}
		}
	}
	p, err := cf.GetLoadBalancerPool(ctx, acc, pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Healthy == nil || !*p.Healthy {
		t.Errorf("pool healthy %v, want true (ruling 33)", p.Healthy)
	}
	// The origin-level healthy flag is not in cloudflare-go's origin struct: read it raw.
	var rawPool struct {
		Origins []struct {
			Address string `json:"address"`
			Healthy *bool  `json:"healthy"`
		} `json:"origins"`
	}
	newRaw(s.base, e2eReadToken).ok(t, "GET", acct+"/pools/"+pool.ID, nil).into(t, &rawPool)
	for _, o := range rawPool.Origins {
		if o.Healthy == nil || *o.Healthy != (o.Address == "127.0.0.43") {
			t.Errorf("origin %s healthy %v", o.Address, o.Healthy)
		}
	}
	// The change is an event (load_balancing_analytics/events).
	var evs []api.Event
	e := newRaw(s.base, e2eReadToken).ok(t, "GET", "/accounts/"+e2eAccount+"/load_balancing_analytics/events?pool_id="+pool.ID, nil)
	checkEnvelope(t, "events", e, true)
	e.into(t, &evs)
	found := false
	for _, ev := range evs {
		for _, o := range ev.Origins {
			if o.Address == "127.0.0.44" && !o.Healthy && o.Changed {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no event for 127.0.0.44 going unhealthy: %s", e.Result)
	}
}

// TestAPILoadBalancerBesideZoneData (ruling 21): an LB created at a name with zone data takes
// A/AAAA; disabled or deleted, the zone data comes back; a wildcard LB answers below it.
func TestAPILoadBalancerBesideZoneData(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	pid := createPool(t, w, "p", "198.51.100.5")
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	waitAnswer(t, s.DNS, "www.example.test", []string{"192.0.2.1"}, time.Second)
	var lb model.LoadBalancer
	w.ok(t, "POST", zl, map[string]any{"name": "www.example.test", "default_pools": []string{pid}, "fallback_pool": pid}).into(t, &lb)
	waitAnswer(t, s.DNS, "www.example.test", []string{"198.51.100.5"}, time.Second)
	// AAAA belongs to the LB too: no IPv6 origin, so NODATA, not the zone's AAAA (rulings 3, 21).
	r := query(t, "udp", s.DNS, "www.example.test", dns.TypeAAAA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("AAAA at an LB name without IPv6 origins: %v", r)
	}
	w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"enabled": false})
	waitAnswer(t, s.DNS, "www.example.test", []string{"192.0.2.1"}, time.Second)
	w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"enabled": true})
	waitAnswer(t, s.DNS, "www.example.test", []string{"198.51.100.5"}, time.Second)
	w.ok(t, "DELETE", zl+"/"+lb.ID, nil)
	waitAnswer(t, s.DNS, "www.example.test", []string{"192.0.2.1"}, time.Second)

	w.ok(t, "POST", zl, map[string]any{"name": "*.w.example.test", "default_pools": []string{pid}, "fallback_pool": pid})
	waitAnswer(t, s.DNS, "anything.w.example.test", []string{"198.51.100.5"}, time.Second)
}

// TestAPIBodiesAndReferences: read-only fields in bodies are ignored and null means omitted
// (ruling 31), duplicate LB names are refused, every kind of pool reference blocks a delete,
// the references endpoints list referrers, oversized bodies are refused.
func TestAPIBodiesAndReferences(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pa, pb := createPool(t, w, "a", "192.0.2.1"), createPool(t, w, "b", "192.0.2.2")

	var lb model.LoadBalancer
	w.ok(t, "POST", zl, map[string]any{"name": "x.example.test", "ttl": 300, "description": "d", "default_pools": []string{pa}}).into(t, &lb)
	// PATCH with nulls keeps those fields.
	var got model.LoadBalancer
	w.ok(t, "PATCH", zl+"/"+lb.ID, `{"ttl": null, "description": null, "region_pools": null}`).into(t, &got)
	if got.TTL == nil || *got.TTL != 300 || got.Description != "d" {
		t.Errorf("PATCH with nulls: ttl %v description %q, want 300 and d", got.TTL, got.Description)
	}
	// Read-only fields in a PUT body are ignored.
	time.Sleep(1100 * time.Millisecond) // created_on/modified_on have second precision at Cloudflare
	w.ok(t, "PUT", zl+"/"+lb.ID, map[string]any{
		"id": strings.Repeat("0", 32), "created_on": "2001-01-01T00:00:00Z", "modified_on": "2001-01-01T00:00:00Z",
		"zone_name": "elsewhere.test", "name": "x.example.test", "default_pools": []string{pa},
	}).into(t, &got)
	if got.ID != lb.ID || got.CreatedOn == nil || !got.CreatedOn.Equal(*lb.CreatedOn) || got.ModifiedOn == nil || !got.ModifiedOn.After(*lb.ModifiedOn) {
		t.Errorf("PUT with read-only fields: id %s created %v modified %v (before: %s %v %v)", got.ID, got.CreatedOn, got.ModifiedOn, lb.ID, lb.CreatedOn, lb.ModifiedOn)
	}
	if got.TTL == nil || *got.TTL != model.DefaultTTL || got.Description != "" {
		t.Errorf("PUT without ttl/description: ttl %v description %q", got.TTL, got.Description)
	}
	// Duplicate load balancer names are refused.
	e := w.do(t, "POST", zl, map[string]any{"name": "X.example.test.", "default_pools": []string{pb}})
	wantError(t, "duplicate LB name", e, http.StatusBadRequest, "name")

	// Every kind of reference blocks the delete of a pool and is named.
	w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"default_pools": []string{pa}, "region_pools": map[string][]string{"WEU": {pb}}})
	wantError(t, "delete pool in region_pools", w.do(t, "DELETE", acct+"/pools/"+pb, nil), http.StatusBadRequest, "x.example.test")
	w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"region_pools": map[string][]string{}, "country_pools": map[string][]string{"FR": {pb}}})
	wantError(t, "delete pool in country_pools", w.do(t, "DELETE", acct+"/pools/"+pb, nil), http.StatusBadRequest, "x.example.test")
	w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"country_pools": map[string][]string{}, "pop_pools": map[string][]string{"LHR": {pb}}})
	wantError(t, "delete pool in pop_pools", w.do(t, "DELETE", acct+"/pools/"+pb, nil), http.StatusBadRequest, "x.example.test")
	w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"pop_pools": map[string][]string{}, "fallback_pool": pb})
	wantError(t, "delete fallback pool", w.do(t, "DELETE", acct+"/pools/"+pb, nil), http.StatusBadRequest, "x.example.test")
	// A second referrer is named too.
	var lb2 model.LoadBalancer
	w.ok(t, "POST", zl, map[string]any{"name": "y.example.test", "default_pools": []string{pb}}).into(t, &lb2)
	wantError(t, "delete pool with two referrers", w.do(t, "DELETE", acct+"/pools/"+pb, nil), http.StatusBadRequest, "x.example.test", "y.example.test")

	var refs []api.Reference
	e = w.ok(t, "GET", acct+"/pools/"+pb+"/references", nil)
	checkEnvelope(t, "references", e, true)
	e.into(t, &refs)
	var names []string
	for _, r := range refs {
		if r.ReferenceType == "referrer" {
			names = append(names, r.ResourceName)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"x.example.test", "y.example.test"}) {
		t.Errorf("pool references: %s", e.Result)
	}

	// Oversized bodies are refused without being stored.
	big := `{"name":"big","description":"` + strings.Repeat("x", 2<<20) + `","origins":[{"name":"a","address":"192.0.2.9"}]}`
	e, err := w.try("POST", acct+"/pools", big)
	if err == nil && e.Status/100 == 2 {
		t.Errorf("a 2 MB body was accepted")
	}
	var pools []model.Pool
	w.ok(t, "GET", acct+"/pools", nil).into(t, &pools)
	if len(pools) != 2 {
		t.Errorf("%d pools after the refused writes, want 2", len(pools))
	}
}

// TestAPIObjectsAcrossReload: API objects survive SIGHUP; a file object added by the reload
// appears read-only; a reload whose file clashes with an API object (the same LB name) is
// refused and both keep being served.
func TestAPIObjectsAcrossReload(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pid := createPool(t, w, "api-pool", "192.0.2.31")
	w.ok(t, "POST", zl, map[string]any{"name": "api.example.test", "default_pools": []string{pid}})
	waitAnswer(t, s.DNS, "api.example.test", []string{"192.0.2.31"}, time.Second)

	write := func(extra string) {
		if err := os.WriteFile(filepath.Join(dir, "lbdns.yaml"), []byte(apiConfig(extra)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`pools:
  - name: filepool
    origins: [{ name: f, address: 192.0.2.32 }]
load_balancers:
  - name: file.example.test
    default_pools: [filepool]
`)
	n := s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reloaded", n, 5*time.Second)
	waitAnswer(t, s.DNS, "file.example.test", []string{"192.0.2.32"}, time.Second)
	waitAnswer(t, s.DNS, "api.example.test", []string{"192.0.2.31"}, time.Second)
	fid := model.DeriveID(model.KindPool, "filepool")
	wantError(t, "PATCH pool added by reload", w.do(t, "PATCH", acct+"/pools/"+fid, `{"description":"x"}`), http.StatusConflict, "config file")
	// The API can refer to a file pool.
	w.ok(t, "PATCH", zl+"/"+lbIDByName(t, w, zl, "api.example.test"), map[string]any{"default_pools": []string{fid}})
	waitAnswer(t, s.DNS, "api.example.test", []string{"192.0.2.32"}, time.Second)

	// A file that declares the API's LB name again does not load; everything stays.
	write(`pools:
  - name: filepool
    origins: [{ name: f, address: 192.0.2.32 }]
load_balancers:
  - name: file.example.test
    default_pools: [filepool]
  - name: api.example.test
    default_pools: [filepool]
`)
	n = s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reload failed; keeping the running configuration", n, 5*time.Second)
	waitAnswer(t, s.DNS, "api.example.test", []string{"192.0.2.32"}, time.Second)
	// A file pool the API refers to cannot vanish on reload.
	write("")
	n = s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reload failed; keeping the running configuration", n, 5*time.Second)
	waitAnswer(t, s.DNS, "file.example.test", []string{"192.0.2.32"}, time.Second)
	var lbs []json.RawMessage
	w.ok(t, "GET", zl, nil).into(t, &lbs)
	if len(lbs) != 2 {
		t.Errorf("%d load balancers after refused reloads, want 2", len(lbs))
	}
}

func lbIDByName(t *testing.T, c *rawClient, zl, name string) string {
	t.Helper()
	var lbs []model.LoadBalancer
	c.ok(t, "GET", zl, nil).into(t, &lbs)
	for _, lb := range lbs {
		if lb.Name == name {
			return lb.ID
		}
	}
	t.Fatalf("no load balancer %s", name)
	return ""
}

// TestAPICloudflareGoRoundTrip: objects with every field set through cloudflare-go come back
// equal through cloudflare-go (JSON shapes, CONTRACT §4).
func TestAPICloudflareGoRoundTrip(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	cf := cfClient(t, s, e2eWriteToken)
	ctx := context.Background()
	acc := cloudflare.AccountIdentifier(e2eAccount)
	zone := cloudflare.ZoneIdentifier(api.ZoneID("example.test"))

	monIn := cloudflare.LoadBalancerMonitor{
		Type: "https", Description: "full", Method: "HEAD", Path: "/status", Header: map[string][]string{"Host": {"status.example.test"}},
		Timeout: 3, Retries: 1, Interval: 30, ConsecutiveUp: 2, ConsecutiveDown: 3, Port: 8443,
		ExpectedBody: "alive", ExpectedCodes: "2xx", FollowRedirects: true, AllowInsecure: true,
	}
	mon, err := cf.CreateLoadBalancerMonitor(ctx, acc, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: monIn})
	if err != nil {
		t.Fatal(err)
	}
	monGot, err := cf.GetLoadBalancerMonitor(ctx, acc, mon.ID)
	if err != nil {
		t.Fatal(err)
	}
	monGot.ID, monGot.CreatedOn, monGot.ModifiedOn = "", nil, nil
	if !jsonEqual(t, monIn, monGot) {
		t.Errorf("monitor round trip:\n sent %s\n got  %s", mustJSON(monIn), mustJSON(monGot))
	}

	lat, lon := float32(48.85), float32(2.35)
	poolIn := cloudflare.LoadBalancerPool{
		Description: "every field", Name: "full-pool", Enabled: true, MinimumOrigins: model.Ptr(2), Monitor: mon.ID,
		Origins: []cloudflare.LoadBalancerOrigin{
			{Name: "a", Address: "192.0.2.1", Enabled: true, Weight: 0.25, Header: map[string][]string{"Host": {"a.example.test"}}},
			{Name: "b", Address: "2001:db8::2", Enabled: false, Weight: 0.75},
			{Name: "c", Address: "origin.example.net", Enabled: true, Weight: 1},
		},
		NotificationEmail: "ops@example.test", Latitude: &lat, Longitude: &lon,
		LoadShedding:   &cloudflare.LoadBalancerLoadShedding{DefaultPercent: 10, DefaultPolicy: "hash", SessionPercent: 5, SessionPolicy: "hash"},
		OriginSteering: &cloudflare.LoadBalancerOriginSteering{Policy: "hash"},
		CheckRegions:   []string{"WEU", "ENAM"},
	}
	pool, err := cf.CreateLoadBalancerPool(ctx, acc, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: poolIn})
	if err != nil {
		t.Fatal(err)
	}
	poolGot, err := cf.GetLoadBalancerPool(ctx, acc, pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	poolGot.ID, poolGot.CreatedOn, poolGot.ModifiedOn, poolGot.Healthy = "", nil, nil, nil
	if !jsonEqual(t, poolIn, poolGot) {
		t.Errorf("pool round trip:\n sent %s\n got  %s", mustJSON(poolIn), mustJSON(poolGot))
	}
	other, err := cf.CreateLoadBalancerPool(ctx, acc, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "other", Enabled: true, Origins: []cloudflare.LoadBalancerOrigin{{Name: "o", Address: "198.51.100.1", Enabled: true, Weight: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}

	ttl := uint(120)
	lbIn := cloudflare.LoadBalancer{
		Description: "every field", Name: "full.example.test", TTL: 60, FallbackPool: other.ID,
		DefaultPools: []string{pool.ID, other.ID},
		RegionPools:  map[string][]string{"WEU": {pool.ID}, "ENAM": {other.ID}},
		PopPools:     map[string][]string{"LHR": {pool.ID}},
		CountryPools: map[string][]string{"FR": {pool.ID}, "US": {other.ID}},
		Enabled:      model.Ptr(true), Persistence: "ip_cookie", PersistenceTTL: 1800,
		Rules: []*cloudflare.LoadBalancerRule{{
			Name: "fr", Condition: `ip.src.country == "FR"`, Priority: 1, Terminates: true,
			Overrides: cloudflare.LoadBalancerRuleOverrides{TTL: ttl, DefaultPools: []string{other.ID}, SteeringPolicy: "off"},
		}},
		RandomSteering:   &cloudflare.RandomSteering{DefaultWeight: 0.5, PoolWeights: map[string]float64{pool.ID: 0.2}},
		LocationStrategy: &cloudflare.LocationStrategy{PreferECS: "always", Mode: "resolver_ip"},
		SteeringPolicy:   "geo",
	}
	lb, err := cf.CreateLoadBalancer(ctx, zone, cloudflare.CreateLoadBalancerParams{LoadBalancer: lbIn})
	if err != nil {
		t.Fatal(err)
	}
	lbGot, err := cf.GetLoadBalancer(ctx, zone, lb.ID)
	if err != nil {
		t.Fatal(err)
	}
	lbGot.ID, lbGot.CreatedOn, lbGot.ModifiedOn = "", nil, nil
	if !jsonEqual(t, lbIn, lbGot) {
		t.Errorf("load balancer round trip:\n sent %s\n got  %s", mustJSON(lbIn), mustJSON(lbGot))
	}
	// A PUT of what was read changes nothing.
	lbGot.ID = lb.ID
	lbPut, err := cf.UpdateLoadBalancer(ctx, zone, cloudflare.UpdateLoadBalancerParams{LoadBalancer: lbGot})
	if err != nil {
		t.Fatalf("PUT of the object read: %v", err)
	}
	lbPut.ID, lbPut.CreatedOn, lbPut.ModifiedOn = "", nil, nil
	if !jsonEqual(t, lbIn, lbPut) {
		t.Errorf("load balancer after PUT of itself:\n sent %s\n got  %s", mustJSON(lbIn), mustJSON(lbPut))
	}
	// The /user/ paths (cloudflare-go's user level) address the same objects (ruling 35).
	user := cloudflare.UserIdentifier("")
	upools, err := cf.ListLoadBalancerPools(ctx, user, cloudflare.ListLoadBalancerPoolParams{})
	if err != nil || len(upools) != 2 {
		t.Errorf("user-level pools: %d, %v", len(upools), err)
	}
	um, err := cf.CreateLoadBalancerMonitor(ctx, user, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
		Type: "tcp", Port: 22, Timeout: 2, Retries: 1, Interval: 60, ConsecutiveUp: 1, ConsecutiveDown: 1,
	}})
	if err != nil {
		t.Fatalf("user-level monitor: %v", err)
	}
	if _, err := cf.GetLoadBalancerMonitor(ctx, acc, um.ID); err != nil {
		t.Errorf("a monitor created under /user/ is not under /accounts/: %v", err)
	}
	if err := cf.DeleteLoadBalancerMonitor(ctx, user, um.ID); err != nil {
		t.Errorf("user-level delete: %v", err)
	}
	zd, err := cf.ZoneDetails(ctx, api.ZoneID("example.test"))
	if err != nil || zd.Name != "example.test" || zd.ID != api.ZoneID("example.test") {
		t.Errorf("ZoneDetails: %+v %v", zd, err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonEqual compares two values by their JSON (maps in key order).
func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(mustJSON(a)), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(mustJSON(b)), &y); err != nil {
		t.Fatal(err)
	}
	return mustJSON(x) == mustJSON(y)
}

// TestAPIPreview (ruling 32): pool and monitor previews take a monitor object, probe the
// pool's real origins once with it, and leave the pool's health alone.
func TestAPIPreview(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	orig := startOrigins(t, "127.0.0.45") // 127.0.0.46 has no listener on that port
	var p model.Pool
	w.ok(t, "POST", acct+"/pools", map[string]any{"name": "pv", "origins": []map[string]any{
		{"name": "up", "address": "127.0.0.45"}, {"name": "down", "address": "127.0.0.46"},
	}}).into(t, &p)
	monBody := map[string]any{"type": "http", "port": orig.Port, "path": "/", "timeout": 1, "retries": 0, "interval": 60}
	type started struct {
		PreviewID string            `json:"preview_id"`
		Pools     map[string]string `json:"pools"`
	}
	type originHealth struct {
		Healthy       bool   `json:"healthy"`
		FailureReason string `json:"failure_reason"`
		ResponseCode  int    `json:"response_code"`
	}
	check := func(what string, st started) {
		t.Helper()
		if !hex32.MatchString(st.PreviewID) || st.Pools[p.ID] != "pv" {
			t.Fatalf("%s: started %+v", what, st)
		}
		e := newRaw(s.base, e2eReadToken).ok(t, "GET", acct+"/preview/"+st.PreviewID, nil)
		var res map[string]struct {
			Healthy bool                      `json:"healthy"`
			Origins []map[string]originHealth `json:"origins"`
		}
		e.into(t, &res)
		got := map[string]originHealth{}
		for _, m := range res[p.ID].Origins {
			for a, oh := range m {
				got[a] = oh
			}
		}
		if up := got["127.0.0.45"]; !up.Healthy || up.ResponseCode != 200 {
			t.Errorf("%s: up origin %+v (%s)", what, up, e.Result)
		}
		if down, ok := got["127.0.0.46"]; !ok || down.Healthy || down.FailureReason == "" {
			t.Errorf("%s: down origin %+v (%s)", what, down, e.Result)
		}
		if !res[p.ID].Healthy {
			t.Errorf("%s: pool unhealthy with one of two origins up (minimum_origins 1)", what)
		}
	}
	var st started
	w.ok(t, "POST", acct+"/pools/"+p.ID+"/preview", monBody).into(t, &st)
	check("pool preview", st)

	// A monitor preview probes the pools that use the monitor, with the body's settings.
	var m model.Monitor
	w.ok(t, "POST", acct+"/monitors", map[string]any{"type": "http", "port": 1, "path": "/", "timeout": 1, "retries": 0, "interval": 60}).into(t, &m)
	w.ok(t, "PATCH", acct+"/pools/"+p.ID, map[string]any{"monitor": m.ID})
	w.ok(t, "POST", acct+"/monitors/"+m.ID+"/preview", monBody).into(t, &st)
	check("monitor preview", st)

	wantError(t, "preview with an invalid monitor", w.do(t, "POST", acct+"/pools/"+p.ID+"/preview", map[string]any{"type": "http", "timeout": 0, "interval": 1}), http.StatusBadRequest, "interval")
	wantError(t, "unknown preview", w.do(t, "GET", acct+"/preview/"+strings.Repeat("cd", 16), nil), http.StatusNotFound)
	wantError(t, "preview with a read token", newRaw(s.base, e2eReadToken).do(t, "POST", acct+"/pools/"+p.ID+"/preview", monBody), http.StatusForbidden)
}

// TestAPIWritesKeepHealth: a cosmetic write to a monitored pool or to its monitor keeps the
// origins' health (DNS does not fail over while they are re-probed), and an origin added to a
// monitored pool is probed at once rather than after an interval.
func TestAPIWritesKeepHealth(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	orig := startOrigins(t, "127.0.0.47", "127.0.0.48")
	var m model.Monitor
	w.ok(t, "POST", acct+"/monitors", map[string]any{"type": "http", "port": orig.Port, "path": "/", "timeout": 1, "retries": 0, "interval": 60}).into(t, &m)
	var pa model.Pool
	w.ok(t, "POST", acct+"/pools", map[string]any{"name": "a", "monitor": m.ID, "origins": []map[string]any{{"name": "a1", "address": "127.0.0.47"}}}).into(t, &pa)
	pb := createPool(t, w, "b", "192.0.2.200")
	w.ok(t, "POST", zl, map[string]any{"name": "keep.example.test", "default_pools": []string{pa.ID, pb}, "fallback_pool": pb})
	// Until a1 is probed it counts as down (ruling 8): pool b answers; then a1.
	waitAnswer(t, s.DNS, "keep.example.test", []string{"127.0.0.47"}, 3*time.Second)

	c := &dns.Client{Timeout: time.Second}
	steady := func(what string, want []string, d time.Duration) {
		t.Helper()
		for t0 := time.Now(); time.Since(t0) < d; time.Sleep(2 * time.Millisecond) {
			if a, err := lookupA(c, s.DNS, "keep.example.test"); err != nil || !slices.Equal(a.IPs, want) {
				t.Fatalf("%s: answer %v (err %v) %s after the write, want %v throughout", what, a, err, time.Since(t0).Round(time.Millisecond), want)
			}
		}
	}
	w.ok(t, "PATCH", acct+"/pools/"+pa.ID, map[string]any{"description": "cosmetic"})
	steady("cosmetic pool PATCH", []string{"127.0.0.47"}, 300*time.Millisecond)
	w.ok(t, "PATCH", acct+"/monitors/"+m.ID, map[string]any{"description": "cosmetic"})
	steady("cosmetic monitor PATCH", []string{"127.0.0.47"}, 300*time.Millisecond)

	// The new origin is probed at once (interval is 60 s).
	w.ok(t, "PATCH", acct+"/pools/"+pa.ID, map[string]any{"origins": []map[string]any{
		{"name": "a1", "address": "127.0.0.47"}, {"name": "a2", "address": "127.0.0.48"},
	}})
	waitAnswer(t, s.DNS, "keep.example.test", []string{"127.0.0.47", "127.0.0.48"}, 3*time.Second)
}

// TestServeRefusesStoredObjectsThatNoLongerFit: API objects in data_dir that refer to a pool
// since removed from the file stop `serve` before it binds, with a message that says where
// the objects live.
func TestServeRefusesStoredObjectsThatNoLongerFit(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "pools:\n  - name: fp\n    origins: [{ name: f, address: 192.0.2.32 }]\n")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	fp := model.DeriveID(model.KindPool, "fp")
	w.ok(t, "POST", "/zones/"+api.ZoneID("example.test")+"/load_balancers", map[string]any{"name": "api.example.test", "default_pools": []string{fp}})
	s.stop()
	writeFiles(t, dir, map[string]string{"lbdns.yaml": apiConfig("")})
	cmd := exec.Command(binPath, "serve", "--config", cfg)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve did not exit with stored objects that no longer fit:\n%s", out)
	}
	if err == nil || strings.Contains(string(out), `"serving DNS"`) {
		t.Fatalf("serve: %v\n%s", err, out)
	}
	for _, want := range []string{fp, filepath.Join(dir, "data")} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the refusal does not name %q:\n%s", want, out)
		}
	}
}

// TestAPIZonesFollowReload: a zone added by SIGHUP is listed by the zones API and takes load
// balancers; removing it again while an API load balancer lives in it is refused.
func TestAPIZonesFollowReload(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	pid := createPool(t, w, "p", "192.0.2.5")
	wantError(t, "LB in a zone not served yet", w.do(t, "POST", "/zones/"+api.ZoneID("new.test")+"/load_balancers",
		map[string]any{"name": "lb.new.test", "default_pools": []string{pid}}), http.StatusNotFound)
	writeFiles(t, dir, map[string]string{
		"new.test.zone": strings.ReplaceAll(coreZone, "example.test.", "new.test."),
		"lbdns.yaml":    strings.Replace(apiConfig(""), "zones:\n", "zones:\n  - name: new.test\n    file: new.test.zone\n", 1),
	})
	n := s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reloaded", n, 5*time.Second)
	var zones []struct {
		ID, Name    string
		NameServers []string `json:"name_servers"`
	}
	e := w.ok(t, "GET", "/zones?name=new.test", nil)
	checkEnvelope(t, "zones", e, true)
	e.into(t, &zones)
	if len(zones) != 1 || zones[0].ID != api.ZoneID("new.test") {
		t.Fatalf("zones?name=new.test after the reload: %s", e.Result)
	}
	if len(zones[0].NameServers) != 1 || zones[0].NameServers[0] != "ns1.new.test" {
		t.Errorf("name_servers of new.test: %q, want the apex NS [ns1.new.test]", zones[0].NameServers)
	}
	w.ok(t, "POST", "/zones/"+zones[0].ID+"/load_balancers", map[string]any{"name": "lb.new.test", "default_pools": []string{pid}})
	waitAnswer(t, s.DNS, "lb.new.test", []string{"192.0.2.5"}, time.Second)

	writeFiles(t, dir, map[string]string{"lbdns.yaml": apiConfig("")})
	n = s.logCount()
	s.signal(syscall.SIGHUP)
	m, _ := s.waitLog("reload failed; keeping the running configuration", n, 5*time.Second)
	if !strings.Contains(fmt.Sprint(m), "lb.new.test") {
		t.Errorf("the refused reload does not name the load balancer: %v", m)
	}
	waitAnswer(t, s.DNS, "lb.new.test", []string{"192.0.2.5"}, time.Second)
}

// TestAPIWeightsAndHostnameOrigins: weights patched through the API change the answer from
// all origins to one origin chosen by weight (ruling 2); a hostname origin in a served zone
// is answered with a CNAME followed in the same answer (ruling 1).
func TestAPIWeightsAndHostnameOrigins(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pid := createPool(t, w, "wp", "192.0.2.61", "192.0.2.62")
	w.ok(t, "POST", zl, map[string]any{"name": "weights.example.test", "default_pools": []string{pid}})
	waitAnswer(t, s.DNS, "weights.example.test", []string{"192.0.2.61", "192.0.2.62"}, time.Second)
	w.ok(t, "PATCH", acct+"/pools/"+pid, map[string]any{"origins": []map[string]any{
		{"name": "wp0", "address": "192.0.2.61", "weight": 0.2}, {"name": "wp1", "address": "192.0.2.62", "weight": 0.8},
	}})
	c := &dns.Client{Timeout: time.Second}
	counts := map[string]int{}
	const n = 400
	for i := 0; i < n; i++ {
		a, err := lookupA(c, s.DNS, "weights.example.test")
		if err != nil || len(a.IPs) != 1 {
			t.Fatalf("query %d after unequal weights: %v (err %v), want exactly one origin", i, a, err)
		}
		counts[a.IPs[0]]++
	}
	// Binomial(400, 0.2): mean 80, sd 8; 40..120 is five sd either way.
	if c61 := counts["192.0.2.61"]; c61 < 40 || c61 > 120 {
		t.Errorf("weight 0.2 origin answered %d of %d times, want about 80", c61, n)
	}
	w.ok(t, "PATCH", acct+"/pools/"+pid, map[string]any{"origins": []map[string]any{
		{"name": "wp0", "address": "192.0.2.61", "weight": 0}, {"name": "wp1", "address": "192.0.2.62", "weight": 0.8},
	}})
	waitAnswer(t, s.DNS, "weights.example.test", []string{"192.0.2.62"}, time.Second)

	hp := createPool(t, w, "hosts", "www.example.test")
	w.ok(t, "POST", zl, map[string]any{"name": "cname.example.test", "default_pools": []string{hp}})
	r := query(t, "udp", s.DNS, "cname.example.test", dns.TypeA)
	if len(r.Answer) != 2 {
		t.Fatalf("hostname origin: %v", r)
	}
	cn, ok1 := r.Answer[0].(*dns.CNAME)
	a, ok2 := r.Answer[1].(*dns.A)
	if !ok1 || !ok2 || cn.Target != "www.example.test." || a.A.String() != "192.0.2.1" {
		t.Errorf("hostname origin: want CNAME www.example.test. then its A, got %v", r.Answer)
	}
}
