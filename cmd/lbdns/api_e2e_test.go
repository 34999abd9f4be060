package main

// End-to-end tests of the management API (CONTRACT §4, rulings 29-35) against a running
// `lbdns serve`: the real cloudflare-go client (v0.119), raw HTTP for the envelope, and DNS
// queries that must follow every acknowledged write.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/api"
	"github.com/lbdns/lbdns/pkg/model"
)

// fileObjects are declared in the config file: read-only through the API (409).
const fileObjects = `pools:
  - name: static
    origins:
      - { name: s1, address: 192.0.2.50, weight: 1 }
load_balancers:
  - name: static.example.test
    default_pools: [static]
`

// TestAPICloudflareGoLifecycle drives a monitor, a pool of two real loopback origins and a load
// balancer through cloudflare-go and checks the DNS answers after every write (ruling 30).
func TestAPICloudflareGoLifecycle(t *testing.T) {
	dir, cfg := writeAPIFiles(t, fileObjects)
	s := startAPIServe(t, dir, cfg)
	cf := cfClient(t, s, e2eWriteToken)
	ctx := context.Background()
	acc := cloudflare.AccountIdentifier(e2eAccount)

	zoneID, err := cf.ZoneIDByName("example.test")
	if err != nil {
		t.Fatalf("ZoneIDByName: %v", err)
	}
	if zoneID != api.ZoneID("example.test") || !hex32.MatchString(zoneID) {
		t.Fatalf("zone id %q, want %q (32 hex)", zoneID, api.ZoneID("example.test"))
	}
	zone := cloudflare.ZoneIdentifier(zoneID)

	orig := startOrigins(t, "127.0.0.41", "127.0.0.42")
	mon, err := cf.CreateLoadBalancerMonitor(ctx, acc, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
		Type: "http", Method: "GET", Path: "/health", Port: orig.Port, Timeout: 1, Retries: 0, Interval: 5,
		ConsecutiveUp: 1, ConsecutiveDown: 1, ExpectedCodes: "200", Description: "e2e origins",
	}})
	if err != nil {
		t.Fatalf("CreateLoadBalancerMonitor: %v", err)
	}
	if !hex32.MatchString(mon.ID) || mon.CreatedOn == nil || mon.ModifiedOn == nil || mon.Port != orig.Port || mon.Interval != 5 {
		t.Fatalf("created monitor: %+v", mon)
	}

	pool, err := cf.CreateLoadBalancerPool(ctx, acc, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "web", Enabled: true, Monitor: mon.ID,
		Origins: []cloudflare.LoadBalancerOrigin{
			{Name: "o1", Address: "127.0.0.41", Enabled: true, Weight: 1},
			{Name: "o2", Address: "127.0.0.42", Enabled: true, Weight: 1},
		},
	}})
	if err != nil {
		t.Fatalf("CreateLoadBalancerPool: %v", err)
	}
	if !hex32.MatchString(pool.ID) || len(pool.Origins) != 2 || pool.Monitor != mon.ID {
		t.Fatalf("created pool: %+v", pool)
	}

	const lbName = "lb.example.test"
	lb, err := cf.CreateLoadBalancer(ctx, zone, cloudflare.CreateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		Name: lbName, Description: "e2e", TTL: 120, DefaultPools: []string{pool.ID}, FallbackPool: pool.ID,
		SteeringPolicy: "off", Enabled: model.Ptr(true),
	}})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	if !hex32.MatchString(lb.ID) || lb.TTL != 120 || lb.Name != lbName {
		t.Fatalf("created load balancer: %+v", lb)
	}
	both := []string{"127.0.0.41", "127.0.0.42"}
	took := waitAnswer(t, s.DNS, lbName, both, time.Second)
	t.Logf("create LB: DNS followed %s after the 2xx", took)

	// Health: the new origins are probed at once (ruling 8) and both answer 200.
	deadline := time.Now().Add(10 * time.Second)
	var ph cloudflare.LoadBalancerPoolHealth
	for {
		ph, err = cf.GetLoadBalancerPoolHealth(ctx, acc, pool.ID)
		if err != nil {
			t.Fatalf("GetLoadBalancerPoolHealth: %v", err)
		}
		if poolHealthy(ph, both) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool health after 10s: %+v (origin hits %d)", ph, orig.hits.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ph.ID != pool.ID || orig.hits.Load() < 2 {
		t.Errorf("pool health id %q (want %q), origin hits %d", ph.ID, pool.ID, orig.hits.Load())
	}
	got, err := cf.GetLoadBalancerPool(ctx, acc, pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Healthy == nil || !*got.Healthy {
		t.Errorf("pool healthy = %v, want true (ruling 33)", got.Healthy)
	}

	// An origin disabled with a PUT of the whole pool (cloudflare-go's Update) leaves the answer.
	got.Origins[1].Enabled = false
	upd, err := cf.UpdateLoadBalancerPool(ctx, acc, cloudflare.UpdateLoadBalancerPoolParams{LoadBalancer: got})
	if err != nil {
		t.Fatalf("UpdateLoadBalancerPool (disable o2): %v", err)
	}
	if upd.Origins[1].Enabled || !upd.Origins[0].Enabled {
		t.Fatalf("after disabling o2: %+v", upd.Origins)
	}
	took = waitAnswer(t, s.DNS, lbName, []string{"127.0.0.41"}, time.Second)
	t.Logf("disable origin: DNS followed %s after the 2xx", took)

	// A raw PATCH (merge) enables it again and disables the other.
	raw := newRaw(s.base, e2eWriteToken)
	e := raw.ok(t, "PATCH", acct+"/pools/"+pool.ID, map[string]any{"origins": []map[string]any{
		{"name": "o1", "address": "127.0.0.41", "enabled": false, "weight": 1},
		{"name": "o2", "address": "127.0.0.42", "enabled": true, "weight": 1},
	}})
	checkEnvelope(t, "PATCH pool", e, false)
	var patched model.Pool
	e.into(t, &patched)
	if patched.Monitor != mon.ID || patched.Name != "web" {
		t.Errorf("PATCH lost fields it did not name: monitor %q name %q", patched.Monitor, patched.Name)
	}
	if patched.Origins[0].DisabledAt == nil || patched.Origins[1].DisabledAt != nil {
		t.Errorf("disabled_at: o1 %v o2 %v, want o1 set and o2 unset", patched.Origins[0].DisabledAt, patched.Origins[1].DisabledAt)
	}
	waitAnswer(t, s.DNS, lbName, []string{"127.0.0.42"}, time.Second)
	raw.ok(t, "PATCH", acct+"/pools/"+pool.ID, map[string]any{"origins": []map[string]any{
		{"name": "o1", "address": "127.0.0.41", "enabled": true, "weight": 1},
		{"name": "o2", "address": "127.0.0.42", "enabled": true, "weight": 1},
	}})
	waitAnswer(t, s.DNS, lbName, both, time.Second)

	// The LB's TTL is served; a PUT through cloudflare-go (ttl omitted: omitempty) returns it
	// to the default 30 and clears the description (ruling 31).
	if a, _ := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, lbName); len(a.TTLs) == 0 || a.TTLs[0] != 120 {
		t.Errorf("TTL before PUT: %v, want 120", a)
	}
	lb2, err := cf.UpdateLoadBalancer(ctx, zone, cloudflare.UpdateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		ID: lb.ID, Name: lbName, DefaultPools: []string{pool.ID}, FallbackPool: pool.ID,
	}})
	if err != nil {
		t.Fatalf("UpdateLoadBalancer (PUT): %v", err)
	}
	if lb2.TTL != 30 || lb2.Description != "" || lb2.ID != lb.ID || lb2.CreatedOn == nil || !lb2.CreatedOn.Equal(*lb.CreatedOn) {
		t.Errorf("after PUT: ttl %d description %q id %q created %v (was %v)", lb2.TTL, lb2.Description, lb2.ID, lb2.CreatedOn, lb.CreatedOn)
	}
	deadline = time.Now().Add(time.Second)
	for {
		a, _ := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, lbName)
		if len(a.TTLs) > 0 && a.TTLs[0] == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TTL 1s after PUT: %v, want 30", a)
		}
		time.Sleep(2 * time.Millisecond)
	}

	// PUT replaces a monitor: fields left out return to their defaults.
	e = raw.ok(t, "PUT", acct+"/monitors/"+mon.ID, map[string]any{
		"type": "http", "port": orig.Port, "path": "/health", "interval": 5, "timeout": 1, "retries": 0,
	})
	var m2 model.Monitor
	e.into(t, &m2)
	if m2.Description != "" || m2.Method != "GET" || m2.ExpectedCodes != "200" || m2.ID != mon.ID {
		t.Errorf("monitor after PUT: %s", e.Result)
	}

	// The same pool through the /user/ paths (ruling 35).
	e = raw.ok(t, "GET", "/user/load_balancers/pools/"+pool.ID, nil)
	if !strings.Contains(string(e.Result), `"name":"web"`) {
		t.Errorf("/user/ pool: %s", e.Result)
	}

	// Deleting what is still referenced is a 400 naming the referrers (CONTRACT §4, ruling 34).
	err = cf.DeleteLoadBalancerPool(ctx, acc, pool.ID)
	wantCFError(t, "delete referenced pool", err, http.StatusBadRequest, lbName, lb.ID)
	err = cf.DeleteLoadBalancerMonitor(ctx, acc, mon.ID)
	wantCFError(t, "delete referenced monitor", err, http.StatusBadRequest, "web", pool.ID)

	// The lists through cloudflare-go see the objects (the file's first).
	pools, err := cf.ListLoadBalancerPools(ctx, acc, cloudflare.ListLoadBalancerPoolParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 2 || pools[0].Name != "static" || pools[1].ID != pool.ID {
		t.Errorf("pools: %+v", pools)
	}
	lbs, err := cf.ListLoadBalancers(ctx, zone, cloudflare.ListLoadBalancerParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lbs) != 2 {
		t.Errorf("load balancers: %+v", lbs)
	}

	// Deleting in order works; the name leaves DNS.
	if err := cf.DeleteLoadBalancer(ctx, zone, lb.ID); err != nil {
		t.Fatalf("DeleteLoadBalancer: %v", err)
	}
	deadline = time.Now().Add(time.Second)
	for {
		a, _ := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, lbName)
		if a.Rcode == dns.RcodeNameError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s 1s after DELETE: %v, want NXDOMAIN", lbName, a)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cf.DeleteLoadBalancerPool(ctx, acc, pool.ID); err != nil {
		t.Fatalf("DeleteLoadBalancerPool: %v", err)
	}
	if err := cf.DeleteLoadBalancerMonitor(ctx, acc, mon.ID); err != nil {
		t.Fatalf("DeleteLoadBalancerMonitor: %v", err)
	}
	_, err = cf.GetLoadBalancerPool(ctx, acc, pool.ID)
	wantCFError(t, "get deleted pool", err, http.StatusNotFound, pool.ID)
}

// poolHealthy reports whether every address in addrs is reported healthy in some PoP.
func poolHealthy(ph cloudflare.LoadBalancerPoolHealth, addrs []string) bool {
	for _, pop := range ph.PopHealth {
		seen := map[string]bool{}
		for _, m := range pop.Origins {
			for addr, oh := range m {
				if oh.Healthy {
					seen[addr] = true
				}
			}
		}
		all := pop.Healthy
		for _, a := range addrs {
			all = all && seen[a]
		}
		if all {
			return true
		}
	}
	return false
}

// TestAPIDurableAcrossRestart: objects created through the API are in data_dir after a
// SIGTERM and a new start, and served again.
func TestAPIDurableAcrossRestart(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	raw := newRaw(s.base, e2eWriteToken)
	e := raw.ok(t, "POST", acct+"/pools", map[string]any{"name": "p", "origins": []map[string]any{
		{"name": "a", "address": "192.0.2.7"}, {"name": "b", "address": "192.0.2.8"},
	}})
	var p model.Pool
	e.into(t, &p)
	raw.ok(t, "POST", "/zones/"+api.ZoneID("example.test")+"/load_balancers", map[string]any{
		"name": "d.example.test", "default_pools": []string{p.ID}, "fallback_pool": p.ID,
	})
	waitAnswer(t, s.DNS, "d.example.test", []string{"192.0.2.7", "192.0.2.8"}, time.Second)
	s.stop()
	s2 := startAPIServe(t, dir, cfg)
	waitAnswer(t, s2.DNS, "d.example.test", []string{"192.0.2.7", "192.0.2.8"}, time.Second)
	e = newRaw(s2.base, e2eReadToken).ok(t, "GET", acct+"/pools/"+p.ID, nil)
	var p2 model.Pool
	e.into(t, &p2)
	if p2.Name != "p" || len(p2.Origins) != 2 || p2.CreatedOn == nil || !p2.CreatedOn.Equal(*p.CreatedOn) {
		t.Errorf("after restart: %s", e.Result)
	}
}

// TestAPIPagination: 30 monitors listed 10 per page, raw and through cloudflare-go.
func TestAPIPagination(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	cf := cfClient(t, s, e2eWriteToken)
	ctx := context.Background()
	acc := cloudflare.AccountIdentifier(e2eAccount)
	raw := newRaw(s.base, e2eReadToken)

	// Empty lists are [] with result_info (ruling 35).
	e := raw.ok(t, "GET", acct+"/monitors", nil)
	checkEnvelope(t, "empty monitors", e, true)
	if string(e.Result) != "[]" || e.ResultInfo.TotalCount != 0 || e.ResultInfo.Count != 0 {
		t.Errorf("empty list: %s", e.Body)
	}

	var ids []string
	for i := 0; i < 30; i++ {
		m, err := cf.CreateLoadBalancerMonitor(ctx, acc, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
			Type: "tcp", Port: uint16(8000 + i), Timeout: 2, Retries: 1, Interval: 60, ConsecutiveUp: 1, ConsecutiveDown: 1,
			Description: fmt.Sprintf("m%02d", i),
		}})
		if err != nil {
			t.Fatalf("monitor %d: %v", i, err)
		}
		ids = append(ids, m.ID)
	}
	var seen []string
	for page := 1; page <= 4; page++ {
		e := raw.ok(t, "GET", fmt.Sprintf("%s/monitors?per_page=10&page=%d", acct, page), nil)
		checkEnvelope(t, fmt.Sprintf("page %d", page), e, true)
		wantCount := 10
		if page == 4 {
			wantCount = 0
		}
		ri := *e.ResultInfo
		if ri != (resultInfo{Page: page, PerPage: 10, Count: wantCount, TotalCount: 30, TotalPages: 3}) {
			t.Errorf("page %d: result_info %+v", page, ri)
		}
		var ms []model.Monitor
		e.into(t, &ms)
		if len(ms) != wantCount {
			t.Errorf("page %d: %d monitors", page, len(ms))
		}
		for _, m := range ms {
			seen = append(seen, m.ID)
		}
	}
	if !slices.Equal(seen, ids) {
		t.Errorf("pages 1-3 list %d monitors, not the 30 created in creation order", len(seen))
	}
	// cloudflare-go passes page and per_page.
	ms, err := cf.ListLoadBalancerMonitors(ctx, acc, cloudflare.ListLoadBalancerMonitorParams{PaginationOptions: cloudflare.PaginationOptions{Page: 2, PerPage: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 10 || ms[0].ID != ids[10] || ms[0].Description != "m10" {
		t.Errorf("cloudflare-go page 2: %d monitors, first %+v", len(ms), ms)
	}
	// Without per_page cloudflare-go's single-page List sees everything.
	ms, err = cf.ListLoadBalancerMonitors(ctx, acc, cloudflare.ListLoadBalancerMonitorParams{})
	if err != nil || len(ms) != 30 {
		t.Errorf("cloudflare-go list without paging: %d monitors, %v", len(ms), err)
	}
	// Bad paging parameters are 400s naming the parameter.
	wantError(t, "per_page=abc", raw.do(t, "GET", acct+"/monitors?per_page=abc", nil), http.StatusBadRequest, "per_page")
}

// TestAPIAuthValidationAndFileObjects: 401, 403, 400 naming the field, 404, 409 for file
// objects, the order of checks (ruling 34) and the envelope of errors.
func TestAPIAuthValidationAndFileObjects(t *testing.T) {
	dir, cfg := writeAPIFiles(t, fileObjects)
	s := startAPIServe(t, dir, cfg)
	ctx := context.Background()
	acc := cloudflare.AccountIdentifier(e2eAccount)
	zid := api.ZoneID("example.test")
	zone := cloudflare.ZoneIdentifier(zid)
	w := newRaw(s.base, e2eWriteToken)
	r := newRaw(s.base, e2eReadToken)

	// 401: no token, unknown token, wrong scheme; through cloudflare-go too (ruling 29).
	for _, tc := range []struct {
		name string
		c    *rawClient
	}{{"no token", newRaw(s.base, "")}, {"bad token", newRaw(s.base, "nope")}, {"write token with a typo", newRaw(s.base, e2eWriteToken+"x")}} {
		e := tc.c.do(t, "GET", acct+"/pools", nil)
		wantError(t, tc.name, e, http.StatusUnauthorized)
	}
	_, err := cfClient(t, s, "not-a-token").ListLoadBalancerPools(ctx, acc, cloudflare.ListLoadBalancerPoolParams{})
	wantCFError(t, "cloudflare-go bad token", err, http.StatusUnauthorized)

	// cloudflare-go's legacy key + email authentication is not a bearer token: 401.
	legacy, err := cloudflare.New("0123456789abcdef0123456789abcdef01234", "ops@example.test",
		cloudflare.BaseURL(s.base), cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(100000))
	if err != nil {
		t.Fatal(err)
	}
	_, err = legacy.ListLoadBalancerMonitors(ctx, acc, cloudflare.ListLoadBalancerMonitorParams{})
	wantCFError(t, "X-Auth-Key/X-Auth-Email", err, http.StatusUnauthorized)

	// 403: a read token on a write; reads work.
	rcf := cfClient(t, s, e2eReadToken)
	_, err = rcf.CreateLoadBalancerPool(ctx, acc, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "x", Enabled: true, Origins: []cloudflare.LoadBalancerOrigin{{Name: "a", Address: "192.0.2.1", Enabled: true, Weight: 1}},
	}})
	wantCFError(t, "read token POST", err, http.StatusForbidden)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		e := r.do(t, m, acct+"/pools/"+model.DeriveID(model.KindPool, "static"), `{}`)
		wantError(t, "read token "+m, e, http.StatusForbidden)
		if strings.Contains(string(e.Body), e2eReadToken) {
			t.Errorf("403 reply quotes the token: %s", e.Body)
		}
	}
	if _, err := rcf.ListLoadBalancerPools(ctx, acc, cloudflare.ListLoadBalancerPoolParams{}); err != nil {
		t.Errorf("read token GET: %v", err)
	}
	if strings.Contains(s.logText(), e2eReadToken) || strings.Contains(s.logText(), e2eWriteToken) {
		t.Errorf("a token appears in the log (ruling 29)")
	}

	// 400 naming the field.
	wcf := cfClient(t, s, e2eWriteToken)
	_, err = wcf.CreateLoadBalancerPool(ctx, acc, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "heavy", Enabled: true, Origins: []cloudflare.LoadBalancerOrigin{{Name: "a", Address: "192.0.2.1", Enabled: true, Weight: 2}},
	}})
	wantCFError(t, "weight 2", err, http.StatusBadRequest, "origins[0].weight")
	e := w.do(t, "POST", "/zones/"+zid+"/load_balancers", map[string]any{"name": "t.example.test", "default_pools": []string{"nope"}})
	wantError(t, "unknown pool", e, http.StatusBadRequest, "default_pools")
	e = w.do(t, "POST", "/zones/"+zid+"/load_balancers", map[string]any{"name": "t.example.test", "ttl": 0, "default_pools": []string{model.DeriveID(model.KindPool, "static")}})
	wantError(t, "ttl 0", e, http.StatusBadRequest, "ttl")
	e = w.do(t, "POST", "/zones/"+zid+"/load_balancers", map[string]any{"name": "t.elsewhere.test", "default_pools": []string{model.DeriveID(model.KindPool, "static")}})
	wantError(t, "name outside the zone", e, http.StatusBadRequest, "name")
	e = w.do(t, "POST", acct+"/monitors", map[string]any{"type": "http", "interval": 1})
	wantError(t, "interval 1", e, http.StatusBadRequest, "interval")
	e = w.do(t, "POST", acct+"/monitors", `{"type": "http",`)
	wantError(t, "broken JSON", e, http.StatusBadRequest)
	e = w.do(t, "POST", acct+"/pools", map[string]any{"name": "p", "origins": []map[string]any{{"name": "a", "address": "192.0.2.1"}}, "bogus_field": 1})
	wantError(t, "unknown field", e, http.StatusBadRequest, "bogus_field")
	e = w.do(t, "POST", acct+"/pools", map[string]any{"name": "p", "origins": "not-a-list"})
	wantError(t, "wrong type", e, http.StatusBadRequest, "origins")
	e = w.do(t, "POST", "/zones/"+zid+"/load_balancers", map[string]any{"name": "px.example.test", "proxied": true, "default_pools": []string{model.DeriveID(model.KindPool, "static")}})
	wantError(t, "proxied true (ruling 17)", e, http.StatusBadRequest, "proxied")

	// 404: unknown ids, unknown zone, other account.
	unknown := strings.Repeat("ab", 16)
	wantError(t, "GET unknown pool", r.do(t, "GET", acct+"/pools/"+unknown, nil), http.StatusNotFound, unknown)
	wantError(t, "PATCH unknown pool", w.do(t, "PATCH", acct+"/pools/"+unknown, `{"description":"x"}`), http.StatusNotFound)
	wantError(t, "DELETE unknown monitor", w.do(t, "DELETE", acct+"/monitors/"+unknown, nil), http.StatusNotFound)
	wantError(t, "unknown zone", r.do(t, "GET", "/zones/"+unknown+"/load_balancers", nil), http.StatusNotFound)
	wantError(t, "other account", r.do(t, "GET", "/accounts/"+unknown+"/load_balancers/pools", nil), http.StatusNotFound)
	_, err = wcf.GetLoadBalancer(ctx, zone, unknown)
	wantCFError(t, "cloudflare-go unknown LB", err, http.StatusNotFound)

	// File objects are read-only: 409 with a message saying so, before validation (ruling 34).
	sid := model.DeriveID(model.KindPool, "static")
	e = r.ok(t, "GET", acct+"/pools/"+sid, nil)
	checkEnvelope(t, "GET file pool", e, false)
	for _, tc := range []struct {
		what, method, path string
		body               any
	}{
		{"PATCH file pool", "PATCH", acct + "/pools/" + sid, `{"description":"x"}`},
		{"PATCH file pool with an invalid weight", "PATCH", acct + "/pools/" + sid, `{"origins":[{"name":"s1","address":"192.0.2.50","weight":2}]}`},
		{"PUT file pool", "PUT", acct + "/pools/" + sid, `{"name":"static","origins":[{"name":"s1","address":"192.0.2.51"}]}`},
		{"DELETE file pool (referenced too)", "DELETE", acct + "/pools/" + sid, nil},
		{"DELETE file LB", "DELETE", "/zones/" + zid + "/load_balancers/" + model.DeriveID(model.KindLoadBalancer, "static.example.test"), nil},
	} {
		wantError(t, tc.what, w.do(t, tc.method, tc.path, tc.body), http.StatusConflict, "config file")
	}
	flb, err := wcf.GetLoadBalancer(ctx, zone, model.DeriveID(model.KindLoadBalancer, "static.example.test"))
	if err != nil {
		t.Fatalf("GET file LB: %v", err)
	}
	flb.TTL = 60
	_, err = wcf.UpdateLoadBalancer(ctx, zone, cloudflare.UpdateLoadBalancerParams{LoadBalancer: flb})
	wantCFError(t, "cloudflare-go PUT file LB", err, http.StatusConflict, "config file")
	if a, _ := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, "static.example.test"); !slices.Equal(a.IPs, []string{"192.0.2.50"}) || a.TTLs[0] != 30 {
		t.Errorf("file LB after refused writes: %v", a)
	}

	// Envelope of lists and errors; empty lists are [] (ruling 35).
	for _, path := range []string{
		acct + "/monitors",
		acct + "/pools?monitor=" + unknown,
		"/user/load_balancers/monitors",
		"/accounts/" + e2eAccount + "/load_balancing_analytics/events",
		"/zones?name=nothing.test",
	} {
		e := r.ok(t, "GET", path, nil)
		checkEnvelope(t, path, e, true)
		if strings.TrimSpace(string(e.Result)) != "[]" {
			t.Errorf("%s: result %s, want []", path, e.Result)
		}
	}
	e = r.ok(t, "GET", "/zones/"+zid+"/load_balancers", nil)
	checkEnvelope(t, "LB list", e, true)
	var lbs []map[string]any
	e.into(t, &lbs)
	if len(lbs) != 1 || !hex32.MatchString(fmt.Sprint(lbs[0]["id"])) || lbs[0]["zone_name"] != "example.test" {
		t.Errorf("LB list: %s", e.Result)
	}
	e = r.ok(t, "GET", acct+"/regions", nil)
	checkEnvelope(t, "regions", e, false)
	wantError(t, "unknown path", r.do(t, "GET", "/nothing/here", nil), http.StatusNotFound)
}

// TestAPIWriteVisibleImmediately (ruling 30): a DNS query sent right after each 2xx sees the
// write; 40 writes flip a load balancer between two pools, each checked with one query.
func TestAPIWriteVisibleImmediately(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	pa, pb := createPool(t, w, "a", "192.0.2.11", "192.0.2.12"), createPool(t, w, "b", "198.51.100.21")
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	var lb model.LoadBalancer
	w.ok(t, "POST", zl, map[string]any{"name": "now.example.test", "default_pools": []string{pa}, "fallback_pool": pa}).into(t, &lb)
	c := &dns.Client{Timeout: time.Second}
	late, slowest := 0, time.Duration(0)
	for i := 0; i < 40; i++ {
		pool, want := pa, []string{"192.0.2.11", "192.0.2.12"}
		if i%2 == 0 {
			pool, want = pb, []string{"198.51.100.21"}
		}
		w.ok(t, "PATCH", zl+"/"+lb.ID, map[string]any{"default_pools": []string{pool}, "fallback_pool": pool})
		if a, err := lookupA(c, s.DNS, "now.example.test"); err != nil || !slices.Equal(a.IPs, want) {
			late++
			if d := waitAnswer(t, s.DNS, "now.example.test", want, time.Second); d > slowest {
				slowest = d
			}
		}
	}
	if late > 0 {
		t.Logf("%d of 40 first queries after a 2xx saw the old answer; the slowest followed within %s", late, slowest)
	}
}

// createPool creates a pool of equal-weight origins without a monitor and returns its id.
func createPool(t *testing.T, c *rawClient, name string, addrs ...string) string {
	t.Helper()
	var origins []map[string]any
	for i, a := range addrs {
		origins = append(origins, map[string]any{"name": fmt.Sprintf("%s%d", name, i), "address": a, "weight": 1})
	}
	var p model.Pool
	c.ok(t, "POST", acct+"/pools", map[string]any{"name": name, "origins": origins}).into(t, &p)
	return p.ID
}

// TestAPIConcurrentWritesAtomicDNS: 8 clients write while 4 query DNS. Four flip the load
// balancer between pool A (TTL 30) and pool B (TTL 60), four replace pool B's origins between
// two sets. Every answer must be exactly one configuration that existed: A's origins with TTL
// 30, or one of B's two origin sets with TTL 60; never a mix (CONTRACT §4).
func TestAPIConcurrentWritesAtomicDNS(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	setA := []string{"192.0.2.1", "192.0.2.2"}
	setB1 := []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}
	setB2 := []string{"203.0.113.1", "203.0.113.2"}
	pa, pb := createPool(t, w, "a", setA...), createPool(t, w, "b", setB1...)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	var lb model.LoadBalancer
	w.ok(t, "POST", zl, map[string]any{"name": "flip.example.test", "ttl": 30, "default_pools": []string{pa}, "fallback_pool": pa}).into(t, &lb)
	waitAnswer(t, s.DNS, "flip.example.test", setA, time.Second)

	valid := func(a dnsAnswer) bool {
		if a.Rcode != dns.RcodeSuccess || len(a.IPs) == 0 {
			return false
		}
		ttl := a.TTLs[0]
		for _, x := range a.TTLs {
			if x != ttl {
				return false
			}
		}
		switch {
		case slices.Equal(a.IPs, setA):
			return ttl == 30
		case slices.Equal(a.IPs, setB1), slices.Equal(a.IPs, setB2):
			return ttl == 60
		}
		return false
	}

	const writers, writesEach, queriers = 8, 25, 4
	var stop atomic.Bool
	var queries, badAnswers, seenA, seenB1, seenB2 atomic.Int64
	var mu sync.Mutex
	var bad []string
	var qwg sync.WaitGroup
	for q := 0; q < queriers; q++ {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			for i := 0; i < 1_000_000 && !stop.Load(); i++ {
				a, err := lookupA(c, s.DNS, "flip.example.test")
				queries.Add(1)
				switch {
				case slices.Equal(a.IPs, setA):
					seenA.Add(1)
				case slices.Equal(a.IPs, setB1):
					seenB1.Add(1)
				case slices.Equal(a.IPs, setB2):
					seenB2.Add(1)
				}
				if err != nil || !valid(a) {
					badAnswers.Add(1)
					mu.Lock()
					if len(bad) < 10 {
						bad = append(bad, fmt.Sprintf("%v (err %v)", a, err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	var wwg sync.WaitGroup
	var writeErrs atomic.Int64
	errc := make(chan string, writers*writesEach)
	start := time.Now()
	for i := 0; i < writers; i++ {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
			c := newRaw(s.base, e2eWriteToken)
			for j := 0; j < writesEach; j++ {
				var method, path string
				var body any
				if i%2 == 0 {
					method, path = "PATCH", zl+"/"+lb.ID
					if rng.IntN(2) == 0 {
						body = map[string]any{"default_pools": []string{pa}, "fallback_pool": pa, "ttl": 30}
					} else {
						body = map[string]any{"default_pools": []string{pb}, "fallback_pool": pb, "ttl": 60}
					}
				} else {
					set := setB1
					if rng.IntN(2) == 0 {
						set = setB2
					}
					var origins []map[string]any
					for k, a := range set {
						origins = append(origins, map[string]any{"name": fmt.Sprintf("b%d", k), "address": a, "weight": 1})
					}
					method, path, body = "PUT", acct+"/pools/"+pb, map[string]any{"name": "b", "origins": origins}
				}
				e, err := c.try(method, path, body)
				if err != nil || e.Status != http.StatusOK {
					writeErrs.Add(1)
					if err != nil {
						errc <- err.Error()
					} else {
						errc <- fmt.Sprintf("%s %s: HTTP %d %s", method, path, e.Status, e.Body)
					}
				}
			}
		}()
	}
	wwg.Wait()
	writeTime := time.Since(start)
	// Keep querying a little after the last write, then stop.
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	qwg.Wait()
	close(errc)
	for msg := range errc {
		t.Errorf("write failed: %s", msg)
	}
	if badAnswers.Load() > 0 {
		t.Errorf("%d of %d answers were not one whole configuration, e.g. %v", badAnswers.Load(), queries.Load(), bad)
	}
	if queries.Load() < 100 {
		t.Errorf("only %d queries ran during the writes", queries.Load())
	}
	t.Logf("%d writes by %d clients in %s (%d failed); %d queries (pool A %d, B set 1 %d, B set 2 %d), %d bad",
		writers*writesEach, writers, writeTime.Round(time.Millisecond), writeErrs.Load(), queries.Load(), seenA.Load(), seenB1.Load(), seenB2.Load(), badAnswers.Load())
	if seenA.Load() == 0 || seenB1.Load()+seenB2.Load() == 0 {
		t.Errorf("the queries did not see both load balancer configurations: the test proves nothing")
	}

	// The final answer is the final state.
	var final model.LoadBalancer
	newRaw(s.base, e2eReadToken).ok(t, "GET", zl+"/"+lb.ID, nil).into(t, &final)
	var fb model.Pool
	newRaw(s.base, e2eReadToken).ok(t, "GET", acct+"/pools/"+pb, nil).into(t, &fb)
	want := setA
	if final.DefaultPools[0] == pb {
		want = nil
		for _, o := range fb.Origins {
			want = append(want, o.Address)
		}
		slices.Sort(want)
	}
	waitAnswer(t, s.DNS, "flip.example.test", want, time.Second)
}
