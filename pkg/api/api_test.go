package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/store"
)

const (
	account    = "0123456789abcdef0123456789abcdef"
	writeToken = "write-secret-token"
	readToken  = "read-secret-token"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

type healthFromState struct {
	be   *MemoryBackend
	down map[string]bool
}

func (f healthFromState) Pool(id string) (PoolHealth, bool) {
	st := f.be.State()
	p := pools.find(&st.Catalog, id)
	if p == nil {
		return PoolHealth{}, false
	}
	ph := PoolHealth{Healthy: true}
	up := 0
	for _, o := range p.Origins {
		ok := !f.down[o.Address]
		if ok && model.Bool(o.Enabled, true) {
			up++
		}
		oh := OriginHealth{Address: o.Address, Healthy: ok, RTT: 1500 * time.Microsecond, FailureReason: "No failures", ResponseCode: 200}
		if !ok {
			oh = OriginHealth{Address: o.Address, FailureReason: "TCP connection failed"}
		}
		ph.Origins = append(ph.Origins, oh)
	}
	ph.Healthy = up >= model.Int(p.MinimumOrigins, 1)
	return ph, true
}

type env struct {
	t   *testing.T
	dir string
	st  *store.Store
	be  *MemoryBackend
	srv *httptest.Server
	cf  *cloudflare.API

	mu        sync.Mutex
	published []model.Catalog
}

var testZones = ZonesFromNames("example.com", "sub.example.com", "other.test")

func fileCatalog() model.Catalog {
	return model.Catalog{
		Monitors: []model.Monitor{{Name: "file-mon", Type: "tcp", Port: 80}},
		Pools: []model.Pool{{
			Name: "file-pool", Monitor: "file-mon",
			Origins: []model.Origin{{Name: "f1", Address: "127.0.0.9"}},
		}},
		LoadBalancers: []model.LoadBalancer{{Name: "file.example.com", DefaultPools: []string{"file-pool"}}},
	}
}

func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	e := &env{t: t, dir: dir}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	be, err := NewMemoryBackend(MemoryConfig{
		Store: st,
		File:  fileCatalog(),
		Zones: testZones,
		Publish: func(c model.Catalog) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.published = append(e.published, c)
			return nil
		},
		Probe: func(ctx context.Context, mon model.Monitor, p model.Pool) (PoolHealth, error) {
			ph := PoolHealth{Healthy: true}
			for _, o := range p.Origins {
				ph.Origins = append(ph.Origins, OriginHealth{Address: o.Address, Healthy: mon.Type == "tcp", RTT: time.Millisecond, FailureReason: "No failures"})
			}
			return ph, nil
		},
		Events: func() []Event {
			ts := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			return []Event{
				{ID: 1, Timestamp: ts, Pool: EventPool{ID: "p1", Name: "eu", Healthy: false, Changed: true, MinimumOrigins: 1},
					Origins: []EventOrigin{{Name: "o1", Address: "127.0.0.1", IP: "127.0.0.1", Enabled: true, Healthy: false, Changed: true, FailureReason: "TCP connection failed"}}},
				{ID: 2, Timestamp: ts.Add(time.Minute), Pool: EventPool{ID: "p1", Name: "eu", Healthy: true, Changed: true, MinimumOrigins: 1},
					Origins: []EventOrigin{{Name: "o1", Address: "127.0.0.1", IP: "127.0.0.1", Enabled: true, Healthy: true, Changed: true, FailureReason: "No failures"}}},
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	be.cfg.Health = func() Health { return healthFromState{be: be, down: map[string]bool{"127.0.0.2": true}} }
	e.be = be
	start := be.State().Catalog
	if errs := start.Validate(zoneNames(testZones)).Errors(); len(errs) > 0 {
		t.Fatalf("start-up catalog: %v", errs.Err())
	}
	h, err := New(Options{
		AccountID: account,
		Tokens:    []Token{{Name: "admin", Secret: writeToken, Scope: ScopeWrite}, {Name: "viewer", Secret: readToken, Scope: ScopeRead}},
		Backend:   be,
		PoP:       "LHR",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	e.cf = e.client(writeToken)
	t.Cleanup(e.close)
	return e
}

func zoneNames(zs []Zone) []string {
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i] = z.Name
	}
	return out
}

func (e *env) close() {
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
	if e.st != nil {
		e.st.Close()
		e.st = nil
	}
}

func (e *env) client(token string) *cloudflare.API {
	e.t.Helper()
	api, err := cloudflare.NewWithAPIToken(token,
		cloudflare.BaseURL(e.srv.URL+Prefix),
		cloudflare.UsingRateLimit(100000),
		cloudflare.UsingRetryPolicy(0, 0, 0),
	)
	if err != nil {
		e.t.Fatal(err)
	}
	return api
}

// raw sends a request with the write token and decodes the envelope.
func (e *env) raw(method, path, body string) (int, rawEnvelope) {
	return e.rawAs(writeToken, method, path, body)
}

type rawEnvelope struct {
	Success    bool            `json:"success"`
	Errors     []info          `json:"errors"`
	Messages   []info          `json:"messages"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *ResultInfo     `json:"result_info"`
}

func (env rawEnvelope) messages() string {
	var out []string
	for _, e := range env.Errors {
		out = append(out, e.Message)
	}
	return strings.Join(out, " | ")
}

func (e *env) rawAs(token, method, path, body string) (int, rawEnvelope) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var env rawEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		e.t.Fatalf("%s %s: reply is not an envelope: %v\n%s", method, path, err, b)
	}
	if env.Errors == nil || env.Messages == nil {
		e.t.Fatalf("%s %s: errors/messages must be [] not null: %s", method, path, b)
	}
	if env.Success != (res.StatusCode < 300) {
		e.t.Fatalf("%s %s: status %d with success=%v", method, path, res.StatusCode, env.Success)
	}
	return res.StatusCode, env
}

func (e *env) lastPublished() model.Catalog {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.published) == 0 {
		e.t.Fatal("nothing published")
	}
	return e.published[len(e.published)-1]
}

// cfStatus returns the HTTP status of a cloudflare-go error and its messages.
func cfStatus(t *testing.T, err error) (int, string) {
	t.Helper()
	var ce *cloudflare.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a cloudflare API error", err, err)
	}
	return ce.StatusCode, strings.Join(ce.ErrorMessages, " | ")
}

func TestCloudflareGoLifecycle(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	ctx := context.Background()
	acct := cloudflare.AccountIdentifier(account)

	// Zones: ZoneIDByName goes through ListZones with a name filter and per_page=50.
	zid, err := e.cf.ZoneIDByName("Example.COM")
	if err != nil {
		t.Fatal(err)
	}
	if zid != ZoneID("example.com") || !hex32.MatchString(zid) {
		t.Fatalf("zone id %q", zid)
	}
	z, err := e.cf.ZoneDetails(ctx, zid)
	if err != nil || z.Name != "example.com" {
		t.Fatalf("ZoneDetails = %+v, %v", z, err)
	}
	if _, err := e.cf.ZoneIDByName("nope.example"); err == nil {
		t.Fatal("unknown zone found")
	}
	zone := cloudflare.ZoneIdentifier(zid)

	// Monitor.
	mon, err := e.cf.CreateLoadBalancerMonitor(ctx, acct, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
		Type: "http", Description: "login", Method: "GET", Path: "/health", Timeout: 2, Retries: 1, Interval: 10,
		ExpectedCodes: "2xx", ConsecutiveUp: 2, ConsecutiveDown: 2,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !hex32.MatchString(mon.ID) || mon.CreatedOn == nil || mon.ModifiedOn == nil || mon.Path != "/health" || mon.Retries != 1 {
		t.Fatalf("created monitor %+v", mon)
	}
	_, raw := e.raw("GET", "/accounts/"+account+"/load_balancers/monitors/"+mon.ID, "")
	if !regexp.MustCompile(`"created_on":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"`).Match(raw.Result) {
		t.Fatalf("created_on is not RFC 3339 with fractional seconds: %s", raw.Result)
	}

	// Pool with loopback origins, using the monitor.
	pool, err := e.cf.CreateLoadBalancerPool(ctx, acct, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "eu", Description: "Europe", Enabled: true, Monitor: mon.ID,
		Origins: []cloudflare.LoadBalancerOrigin{
			{Name: "o1", Address: "127.0.0.1", Enabled: true, Weight: 1},
			{Name: "o2", Address: "127.0.0.2", Enabled: true, Weight: 1},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !hex32.MatchString(pool.ID) || pool.Monitor != mon.ID || len(pool.Origins) != 2 || pool.Healthy == nil || !*pool.Healthy {
		t.Fatalf("created pool %+v", pool)
	}

	// Load balancer in the zone.
	lb, err := e.cf.CreateLoadBalancer(ctx, zone, cloudflare.CreateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		Name: "www.example.com", DefaultPools: []string{pool.ID}, FallbackPool: pool.ID, TTL: 60,
		Description: "web", SteeringPolicy: "off",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if lb.TTL != 60 || lb.Name != "www.example.com" || lb.Enabled == nil || !*lb.Enabled {
		t.Fatalf("created LB %+v", lb)
	}
	_, raw = e.raw("GET", "/zones/"+zid+"/load_balancers/"+lb.ID, "")
	if !strings.Contains(string(raw.Result), `"zone_name":"example.com"`) {
		t.Fatalf("zone_name missing: %s", raw.Result)
	}
	if pub := e.lastPublished(); pub.LoadBalancer(lb.ID) == nil || pub.Pool(pool.ID) == nil || pub.Monitor(mon.ID) == nil {
		t.Fatal("the published catalog lacks the new objects")
	}
	// The LB is not visible under another zone; a name outside the path's zone is refused.
	if _, err := e.cf.GetLoadBalancer(ctx, cloudflare.ZoneIdentifier(ZoneID("other.test")), lb.ID); err == nil {
		t.Fatal("LB visible under another zone")
	}
	_, err = e.cf.CreateLoadBalancer(ctx, zone, cloudflare.CreateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		Name: "x.other.test", DefaultPools: []string{pool.ID},
	}})
	if code, msg := cfStatus(t, err); code != 400 || !strings.Contains(msg, "name:") {
		t.Fatalf("LB outside its zone: %d %s", code, msg)
	}

	// Lists and pagination: file monitor + 4 API monitors.
	for _, d := range []string{"m2", "m3", "m4"} {
		if _, err := e.cf.CreateLoadBalancerMonitor(ctx, acct, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{Type: "tcp", Port: 22, Description: d}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.cf.ListLoadBalancerMonitors(ctx, acct, cloudflare.ListLoadBalancerMonitorParams{})
	if err != nil || len(all) != 5 {
		t.Fatalf("ListLoadBalancerMonitors = %d, %v", len(all), err)
	}
	page2, err := e.cf.ListLoadBalancerMonitors(ctx, acct, cloudflare.ListLoadBalancerMonitorParams{PaginationOptions: cloudflare.PaginationOptions{Page: 2, PerPage: 2}})
	if err != nil || len(page2) != 2 || page2[0].ID != all[2].ID {
		t.Fatalf("page 2 = %+v, %v", page2, err)
	}
	_, raw = e.raw("GET", "/accounts/"+account+"/load_balancers/monitors?page=3&per_page=2", "")
	if ri := raw.ResultInfo; ri == nil || *ri != (ResultInfo{Page: 3, PerPage: 2, Count: 1, TotalCount: 5, TotalPages: 3}) {
		t.Fatalf("result_info = %+v", raw.ResultInfo)
	}
	if code, _ := e.raw("GET", "/accounts/"+account+"/load_balancers/monitors?per_page=x", ""); code != 400 {
		t.Fatalf("bad per_page: %d", code)
	}
	// /user/... addresses the same objects (ruling 35).
	userPools, err := e.cf.ListLoadBalancerPools(ctx, cloudflare.UserIdentifier("ignored"), cloudflare.ListLoadBalancerPoolParams{})
	if err != nil || len(userPools) != 2 {
		t.Fatalf("user pools = %d, %v", len(userPools), err)
	}
	lbs, err := e.cf.ListLoadBalancers(ctx, zone, cloudflare.ListLoadBalancerParams{})
	if err != nil || len(lbs) != 2 {
		t.Fatalf("LBs in example.com = %d, %v", len(lbs), err)
	}

	// PATCH one origin to disabled: only the given fields change; disabled_at appears.
	path := "/accounts/" + account + "/load_balancers/pools/" + pool.ID
	code, raw := e.raw("PATCH", path, `{"origins":[{"name":"o1","address":"127.0.0.1","enabled":true,"weight":1},{"name":"o2","address":"127.0.0.2","enabled":false,"weight":1,"healthy":true}],"healthy":false}`)
	if code != 200 {
		t.Fatalf("PATCH pool: %d %s", code, raw.messages())
	}
	got, err := e.cf.GetLoadBalancerPool(ctx, acct, pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Origins[1].Enabled || !got.Origins[0].Enabled || got.Description != "Europe" || got.Monitor != mon.ID {
		t.Fatalf("after PATCH: %+v", got)
	}
	if !strings.Contains(string(raw.Result), `"disabled_at"`) {
		t.Fatalf("disabled origin without disabled_at: %s", raw.Result)
	}
	var pj model.Pool
	json.Unmarshal(raw.Result, &pj)
	if pj.Origins[1].Healthy == nil || *pj.Origins[1].Healthy || pj.Healthy == nil || !*pj.Healthy {
		t.Fatalf("healthy flags (read-only, from the health view): %+v", pj)
	}
	if pub := e.lastPublished(); model.Bool(pub.Pool(pool.ID).Origins[1].Enabled, true) {
		t.Fatal("the PATCH was not published")
	}

	// PUT replaces: omitted fields return to their defaults (ruling 31).
	mon2, err := e.cf.UpdateLoadBalancerMonitor(ctx, acct, cloudflare.UpdateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
		ID: mon.ID, Type: "tcp", Port: 8080,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if mon2.Path != "" || mon2.Description != "" || mon2.Method != "connection_established" || mon2.Interval != 60 || mon2.Timeout != 5 || mon2.Retries != 0 || mon2.ConsecutiveUp != 1 {
		t.Fatalf("PUT monitor did not reset omitted fields: %+v", mon2)
	}
	if mon2.CreatedOn == nil || !mon2.CreatedOn.Equal(*mon.CreatedOn) || !mon2.ModifiedOn.After(*mon.ModifiedOn) {
		t.Fatalf("timestamps after PUT: created %v→%v modified %v→%v", mon.CreatedOn, mon2.CreatedOn, mon.ModifiedOn, mon2.ModifiedOn)
	}
	lb2, err := e.cf.UpdateLoadBalancer(ctx, zone, cloudflare.UpdateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		ID: lb.ID, Name: "www.example.com", DefaultPools: []string{pool.ID},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if lb2.TTL != 30 || lb2.Description != "" || lb2.FallbackPool != pool.ID {
		t.Fatalf("PUT LB: %+v", lb2)
	}
	// An explicit ttl of 0 is a 400 (ruling 31).
	code, raw = e.raw("PATCH", "/zones/"+zid+"/load_balancers/"+lb.ID, `{"ttl":0}`)
	if code != 400 || !strings.Contains(raw.messages(), "ttl") {
		t.Fatalf("ttl 0: %d %s", code, raw.messages())
	}

	// Deleting a referenced pool or monitor: 400 naming every referrer.
	err = e.cf.DeleteLoadBalancerPool(ctx, acct, pool.ID)
	if code, msg := cfStatus(t, err); code != 400 || !strings.Contains(msg, "www.example.com") {
		t.Fatalf("delete referenced pool: %d %s", code, msg)
	}
	err = e.cf.DeleteLoadBalancerMonitor(ctx, acct, mon.ID)
	if code, msg := cfStatus(t, err); code != 400 || !strings.Contains(msg, `"eu"`) {
		t.Fatalf("delete referenced monitor: %d %s", code, msg)
	}

	// References.
	_, raw = e.raw("GET", path+"/references", "")
	var refs []Reference
	json.Unmarshal(raw.Result, &refs)
	if len(refs) != 2 || refs[0] != (Reference{"referrer", lb.ID, "www.example.com", "load_balancer"}) || refs[1].ReferenceType != "referral" || refs[1].ResourceID != mon.ID {
		t.Fatalf("pool references = %+v", refs)
	}
	_, raw = e.raw("GET", "/accounts/"+account+"/load_balancers/monitors/"+mon.ID+"/references", "")
	if !strings.Contains(string(raw.Result), pool.ID) || raw.ResultInfo == nil {
		t.Fatalf("monitor references = %s", raw.Result)
	}

	// Objects of the config file: read-only (409), after the 404 check (ruling 34).
	fileMon := model.DeriveID(model.KindMonitor, "file-mon")
	filePool := model.DeriveID(model.KindPool, "file-pool")
	fp, err := e.cf.GetLoadBalancerPool(ctx, acct, filePool)
	if err != nil || fp.Monitor != fileMon {
		t.Fatalf("file pool = %+v, %v (its monitor reference must be resolved to the id)", fp, err)
	}
	_, err = e.cf.UpdateLoadBalancerPool(ctx, acct, cloudflare.UpdateLoadBalancerPoolParams{LoadBalancer: fp})
	if code, msg := cfStatus(t, err); code != 409 || !strings.Contains(msg, "managed by the config file") {
		t.Fatalf("PUT file pool: %d %s", code, msg)
	}
	err = e.cf.DeleteLoadBalancerMonitor(ctx, acct, fileMon)
	if code, _ := cfStatus(t, err); code != 409 {
		t.Fatalf("DELETE file monitor: %d", code)
	}
	code, raw = e.raw("PATCH", "/accounts/"+account+"/load_balancers/pools/"+filePool, `{"origins": "not a list"}`)
	if code != 409 {
		t.Fatalf("PATCH file pool with a bad body: %d (409 comes before 400)", code)
	}
	err = e.cf.DeleteLoadBalancerMonitor(ctx, acct, strings.Repeat("ab", 16))
	if code, _ := cfStatus(t, err); code != 404 {
		t.Fatalf("DELETE unknown monitor: %d", code)
	}

	// Validation: 400 naming the field.
	_, err = e.cf.CreateLoadBalancerPool(ctx, acct, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "bad", Enabled: true, Origins: []cloudflare.LoadBalancerOrigin{{Name: "x", Address: "127.0.0.3", Enabled: true, Weight: 2.5}},
	}})
	if code, msg := cfStatus(t, err); code != 400 || !strings.Contains(msg, "origins[0].weight") {
		t.Fatalf("bad weight: %d %s", code, msg)
	}
	_, err = e.cf.CreateLoadBalancerPool(ctx, acct, cloudflare.CreateLoadBalancerPoolParams{LoadBalancerPool: cloudflare.LoadBalancerPool{
		Name: "nomon", Enabled: true, Monitor: strings.Repeat("cd", 16), Origins: []cloudflare.LoadBalancerOrigin{{Name: "x", Address: "127.0.0.3", Enabled: true, Weight: 1}},
	}})
	if code, msg := cfStatus(t, err); code != 400 || !strings.Contains(msg, "monitor") {
		t.Fatalf("unknown monitor: %d %s", code, msg)
	}
	code, raw = e.raw("POST", "/accounts/"+account+"/load_balancers/monitors", `{"type":"http","bogus":1}`)
	if code != 400 || !strings.Contains(raw.messages(), "bogus") {
		t.Fatalf("unknown field: %d %s", code, raw.messages())
	}
	code, raw = e.raw("POST", "/accounts/"+account+"/load_balancers/monitors", `{"type":`)
	if code != 400 || raw.messages() == "" {
		t.Fatalf("malformed JSON: %d %s", code, raw.messages())
	}
	code, raw = e.raw("POST", "/accounts/"+account+"/load_balancers/monitors", `{"interval":"often"}`)
	if code != 400 || !strings.Contains(raw.messages(), "interval") {
		t.Fatalf("wrong type: %d %s", code, raw.messages())
	}

	// Pool health in cloudflare-go's shape.
	ph, err := e.cf.GetLoadBalancerPoolHealth(ctx, acct, pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	pop, ok := ph.PopHealth["LHR"]
	if ph.ID != pool.ID || !ok || len(pop.Origins) != 2 || !pop.Origins[0]["127.0.0.1"].Healthy || pop.Origins[0]["127.0.0.1"].RTT.Duration != 1500*time.Microsecond || pop.Origins[1]["127.0.0.2"].Healthy {
		t.Fatalf("pool health = %+v", ph)
	}

	// Preview: a monitor object as the body (ruling 32), then the result by preview id.
	code, raw = e.raw("POST", path+"/preview", `{"type":"tcp","port":80}`)
	if code != 200 {
		t.Fatalf("pool preview: %d %s", code, raw.messages())
	}
	var started previewStarted
	json.Unmarshal(raw.Result, &started)
	if !hex32.MatchString(started.PreviewID) || started.Pools[pool.ID] != "eu" {
		t.Fatalf("preview started = %s", raw.Result)
	}
	code, raw = e.raw("GET", "/accounts/"+account+"/load_balancers/preview/"+started.PreviewID, "")
	var pres map[string]popHealthJSON
	json.Unmarshal(raw.Result, &pres)
	if code != 200 || len(pres[pool.ID].Origins) != 2 || !pres[pool.ID].Origins[1]["127.0.0.2"].Healthy {
		t.Fatalf("preview result: %d %s", code, raw.Result)
	}
	code, raw = e.raw("POST", "/accounts/"+account+"/load_balancers/monitors/"+mon.ID+"/preview", `{"type":"carrier-pigeon"}`)
	if code != 400 || !strings.Contains(raw.messages(), "type") {
		t.Fatalf("bad preview monitor: %d %s", code, raw.messages())
	}

	// Events, newest first, filtered.
	code, raw = e.raw("GET", "/accounts/"+account+"/load_balancing_analytics/events?pool_healthy=false", "")
	var evs []Event
	json.Unmarshal(raw.Result, &evs)
	if code != 200 || len(evs) != 1 || evs[0].ID != 1 || raw.ResultInfo == nil {
		t.Fatalf("events: %d %s", code, raw.Result)
	}
	if code, raw = e.raw("GET", "/user/load_balancing_analytics/events", ""); code != 200 || !strings.HasPrefix(string(raw.Result), `[{"id":2`) {
		t.Fatalf("user events: %d %s", code, raw.Result)
	}

	// Bulk PATCH of pools: the file pool would change → 409; a no-op succeeds.
	if code, _ = e.raw("PATCH", "/accounts/"+account+"/load_balancers/pools", `{"notification_email":"ops@example.com"}`); code != 409 {
		t.Fatalf("bulk PATCH over a file pool: %d", code)
	}
	code, raw = e.raw("PATCH", "/accounts/"+account+"/load_balancers/pools", `{"notification_email":""}`)
	if code != 200 || raw.ResultInfo == nil || raw.ResultInfo.Count != 2 {
		t.Fatalf("bulk PATCH: %d %s", code, raw.messages())
	}
	if code, raw = e.raw("PATCH", "/accounts/"+account+"/load_balancers/pools", `{"name":"x"}`); code != 400 || !strings.Contains(raw.messages(), "name") {
		t.Fatalf("bulk PATCH of name: %d %s", code, raw.messages())
	}

	// Delete in dependency order works.
	if err := e.cf.DeleteLoadBalancer(ctx, zone, lb.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cf.GetLoadBalancer(ctx, zone, lb.ID); err == nil {
		t.Fatal("deleted LB still there")
	}
	lb3, err := e.cf.CreateLoadBalancer(ctx, zone, cloudflare.CreateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		Name: "*.sub.example.com", DefaultPools: []string{pool.ID, filePool},
	}})
	if code, msg := cfStatus(t, err); err == nil || code != 400 || !strings.Contains(msg, "sub.example.com") {
		t.Fatalf("LB of a more specific zone under the parent zone: %+v %d %s", lb3, code, msg)
	}
	lb3, err = e.cf.CreateLoadBalancer(ctx, cloudflare.ZoneIdentifier(ZoneID("sub.example.com")), cloudflare.CreateLoadBalancerParams{LoadBalancer: cloudflare.LoadBalancer{
		Name: "*.sub.example.com", DefaultPools: []string{pool.ID, filePool},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if lb3.FallbackPool != filePool {
		t.Fatalf("fallback default = %q, want the last default pool (ruling 6)", lb3.FallbackPool)
	}

	// Reopen: everything created through the API is still there.
	want := e.be.State().Catalog
	e.close()
	e2 := newEnv(t, dir)
	st := e2.be.State()
	if len(st.Catalog.Monitors) != len(want.Monitors) || len(st.Catalog.Pools) != len(want.Pools) || len(st.Catalog.LoadBalancers) != len(want.LoadBalancers) {
		t.Fatalf("after reopen: %d/%d/%d objects, want %d/%d/%d", len(st.Catalog.Monitors), len(st.Catalog.Pools), len(st.Catalog.LoadBalancers),
			len(want.Monitors), len(want.Pools), len(want.LoadBalancers))
	}
	for i := range want.Pools {
		a, _ := json.Marshal(want.Pools[i])
		b, _ := json.Marshal(st.Catalog.Pools[i])
		if string(a) != string(b) {
			t.Fatalf("pool %d after reopen:\n%s\nwant\n%s", i, b, a)
		}
	}
	got, err = e2.cf.GetLoadBalancerPool(ctx, acct, pool.ID)
	if err != nil || got.Origins[1].Enabled {
		t.Fatalf("pool after reopen = %+v, %v", got, err)
	}
	if _, err := e2.cf.GetLoadBalancer(ctx, cloudflare.ZoneIdentifier(ZoneID("sub.example.com")), lb3.ID); err != nil {
		t.Fatal(err)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ctx := context.Background()
	acct := cloudflare.AccountIdentifier(account)
	monitors := "/accounts/" + account + "/load_balancers/monitors"

	for _, tc := range []struct {
		name, token, method, path string
		want                      int
	}{
		{"no token", "", "GET", monitors, 401},
		{"unknown token", "nope", "GET", monitors, 401},
		{"unknown token on an unknown path", "nope", "GET", "/nowhere", 401},
		{"read token reads", readToken, "GET", monitors, 200},
		{"read token writes", readToken, "POST", monitors, 403},
		{"read token deletes", readToken, "DELETE", monitors + "/x", 403},
		{"write token, other account", writeToken, "GET", "/accounts/ffffffffffffffffffffffffffffffff/load_balancers/monitors", 404},
		{"unknown path", writeToken, "GET", "/nowhere", 404},
		{"method not allowed", writeToken, "DELETE", monitors, 405},
	} {
		code, env := e.rawAs(tc.token, tc.method, tc.path, `{}`)
		if code != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.name, code, tc.want, env.messages())
		}
		if strings.Contains(env.messages(), writeToken) || strings.Contains(env.messages(), readToken) || (tc.token != "" && strings.Contains(env.messages(), tc.token)) {
			t.Errorf("%s: a token appears in the reply", tc.name)
		}
	}
	// Through cloudflare-go.
	if _, err := e.client("bad").ListLoadBalancerPools(ctx, acct, cloudflare.ListLoadBalancerPoolParams{}); err == nil {
		t.Fatal("bad token accepted")
	} else if code, _ := cfStatus(t, err); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
	_, err := e.client(readToken).CreateLoadBalancerMonitor(ctx, acct, cloudflare.CreateLoadBalancerMonitorParams{LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{Type: "tcp", Port: 80}})
	if code, _ := cfStatus(t, err); code != 403 {
		t.Fatalf("read token create: %d", code)
	}
	if _, err := e.client(readToken).ListLoadBalancerMonitors(ctx, acct, cloudflare.ListLoadBalancerMonitorParams{}); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyListsAndRegions(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	be, err := NewMemoryBackend(MemoryConfig{Store: st, Zones: testZones, Publish: func(model.Catalog) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{AccountID: account, Tokens: []Token{{Name: "admin", Secret: writeToken, Scope: ScopeWrite}}, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	e := &env{t: t, srv: srv}
	for _, p := range []string{"/accounts/" + account + "/load_balancers/pools", "/user/load_balancers/monitors", "/zones/" + ZoneID("example.com") + "/load_balancers", "/user/load_balancing_analytics/events", "/zones?name=absent.example"} {
		code, env := e.raw("GET", p, "")
		if code != 200 || string(env.Result) != "[]" || env.ResultInfo == nil || env.ResultInfo.TotalCount != 0 {
			t.Errorf("GET %s: %d result=%s info=%+v", p, code, env.Result, env.ResultInfo)
		}
	}

	// Regions: all 13, one by code, and by country / subdivision.
	code, env := e.raw("GET", "/accounts/"+account+"/load_balancers/regions", "")
	var res regionsResult
	json.Unmarshal(env.Result, &res)
	if code != 200 || len(res.Regions) != 13 {
		t.Fatalf("regions: %d, %d regions", code, len(res.Regions))
	}
	_, env = e.raw("GET", "/accounts/"+account+"/load_balancers/regions/WEU", "")
	json.Unmarshal(env.Result, &res)
	if len(res.Regions) != 1 || res.Regions[0].RegionCode != "WEU" || !hasCountry(res.Regions[0], "FR") {
		t.Fatalf("WEU = %s", env.Result)
	}
	_, env = e.raw("GET", "/accounts/"+account+"/load_balancers/regions?country_code=US", "")
	json.Unmarshal(env.Result, &res)
	codes := map[string]bool{}
	for _, r := range res.Regions {
		codes[r.RegionCode] = true
	}
	if !codes["WNAM"] || !codes["ENAM"] || codes["WEU"] {
		t.Fatalf("regions of US = %v", codes)
	}
	_, env = e.raw("GET", "/accounts/"+account+"/load_balancers/regions?country_code=US&subdivision_code=CA", "")
	json.Unmarshal(env.Result, &res)
	if len(res.Regions) != 1 || res.Regions[0].RegionCode != "WNAM" {
		t.Fatalf("region of US-CA = %s", env.Result)
	}
	if code, _ := e.raw("GET", "/accounts/"+account+"/load_balancers/regions/XX", ""); code != 404 {
		t.Fatalf("unknown region: %d", code)
	}

	// Previews without a prober: the POST works, the result says why there is none.
	code, env = e.raw("POST", "/accounts/"+account+"/load_balancers/monitors", `{"type":"tcp","port":1}`)
	if code != 200 {
		t.Fatalf("create monitor: %d %s", code, env.messages())
	}
}

func hasCountry(r regionJSON, cc string) bool {
	for _, c := range r.Countries {
		if c.CountryCode == cc {
			return true
		}
	}
	return false
}

// TestPublishFailureRollsBack: a write whose publication fails is not kept on disk.
func TestPublishFailureRollsBack(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fail := errors.New("snapshot build failed")
	be, err := NewMemoryBackend(MemoryConfig{Store: st, Zones: testZones, Publish: func(model.Catalog) error { return fail }})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := New(Options{AccountID: account, Tokens: []Token{{Name: "admin", Secret: writeToken, Scope: ScopeWrite}}, Backend: be})
	srv := httptest.NewServer(h)
	defer srv.Close()
	e := &env{t: t, srv: srv}
	code, env := e.raw("POST", "/accounts/"+account+"/load_balancers/monitors", `{"type":"tcp","port":1}`)
	if code != 500 || !strings.Contains(env.messages(), "snapshot build failed") {
		t.Fatalf("failed publish: %d %s", code, env.messages())
	}
	cat, err := st.Load()
	if err != nil || len(cat.Monitors) != 0 || len(be.State().Catalog.Monitors) != 0 {
		t.Fatalf("the failed write stayed: %d on disk, %d in memory, %v", len(cat.Monitors), len(be.State().Catalog.Monitors), err)
	}
	st.Close()
}
