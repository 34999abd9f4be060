package api

import (
	"bytes"

	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/store"
)

// testHandler builds a handler over a fresh store with a publish callback that checks that
// publications never overlap.
func testHandler(t testing.TB, log zerolog.Logger) (*Handler, *MemoryBackend, *atomic.Int64) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var inFlight atomic.Int32
	var count atomic.Int64
	be, err := NewMemoryBackend(MemoryConfig{Store: st, Zones: testZones, Publish: func(model.Catalog) error {
		if inFlight.Add(1) != 1 {
			t.Error("two publications at once")
		}
		defer inFlight.Add(-1)
		count.Add(1)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{AccountID: account, Backend: be, Log: log,
		Tokens: []Token{{Name: "admin", Secret: writeToken, Scope: ScopeWrite}, {Name: "viewer", Secret: readToken, Scope: ScopeRead}}})
	if err != nil {
		t.Fatal(err)
	}
	return h, be, &count
}

func do(h http.Handler, token, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, Prefix+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestConcurrentWrites: writers are serialised, PATCHes of one object do not lose updates,
// and every successful write is published exactly once.
func TestConcurrentWrites(t *testing.T) {
	h, be, published := testHandler(t, zerolog.Nop())
	rec := do(h, writeToken, "POST", "/accounts/"+account+"/load_balancers/pools",
		`{"name":"shared","origins":[{"name":"a","address":"127.0.0.1"}]}`)
	if rec.Code != 200 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	poolID := be.State().Catalog.Pools[0].ID
	const workers, each = 8, 10
	var wg sync.WaitGroup
	var ok atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := do(h, writeToken, "POST", "/user/load_balancers/monitors", fmt.Sprintf(`{"type":"tcp","port":%d,"description":"w%d-%d"}`, 1000+i, w, i))
				if r.Code != 200 {
					t.Errorf("create monitor: %d %s", r.Code, r.Body)
					return
				}
				ok.Add(1)
				// Read-modify-write races are the server's problem: PATCH merges under the lock.
				r = do(h, writeToken, "PATCH", "/user/load_balancers/pools/"+poolID, fmt.Sprintf(`{"description":"w%d-%d"}`, w, i))
				if r.Code != 200 {
					t.Errorf("patch pool: %d %s", r.Code, r.Body)
					return
				}
				ok.Add(1)
				do(h, readToken, "GET", "/user/load_balancers/pools", "")
			}
		}()
	}
	wg.Wait()
	if n := len(be.State().Catalog.Monitors); n != workers*each {
		t.Fatalf("%d monitors, want %d", n, workers*each)
	}
	if got := published.Load(); got != ok.Load()+1 {
		t.Fatalf("%d publications for %d writes", got, ok.Load()+1)
	}
	if len(be.State().Catalog.Pools[0].Origins) != 1 {
		t.Fatal("PATCH of description lost the origins")
	}
}

// TestLogsWithoutSecrets: one line per request with the token's name, never the secret.
func TestLogsWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := zerolog.New(zerolog.SyncWriter(&lockedWriter{w: &buf, mu: &mu}))
	h, _, _ := testHandler(t, log)
	do(h, writeToken, "POST", "/accounts/"+account+"/load_balancers/monitors?token="+writeToken, `{"type":"tcp","port":1}`)
	do(h, "wrong-"+readToken, "GET", "/user/load_balancers/pools", "")
	do(h, readToken, "DELETE", "/user/load_balancers/pools/x", "")
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if strings.Contains(out, writeToken) || strings.Contains(out, readToken) {
		t.Fatalf("a secret reached the log:\n%s", out)
	}
	if strings.Count(out, "\n") != 3 || !strings.Contains(out, `"token":"admin"`) || !strings.Contains(out, `"status":401`) || !strings.Contains(out, `"status":403`) {
		t.Fatalf("log:\n%s", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestWarningsInMessages: warnings about the written object come back in messages[].
func TestWarningsInMessages(t *testing.T) {
	h, be, _ := testHandler(t, zerolog.Nop())
	rec := do(h, writeToken, "POST", "/user/load_balancers/pools", `{"name":"p","origins":[{"name":"a","address":"127.0.0.1"}]}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	pid := be.State().Catalog.Pools[0].ID
	rec = do(h, writeToken, "POST", "/zones/"+ZoneID("example.com")+"/load_balancers",
		`{"name":"www.example.com","default_pools":["`+pid+`"],"session_affinity":"cookie","adaptive_routing":{"failover_across_pools":true}}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"messages":[{"code":1100`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// A pool may be referred to by name, as in the config file; the stored reference is the id.
	rec = do(h, writeToken, "POST", "/zones/"+ZoneID("example.com")+"/load_balancers", `{"name":"api.example.com","default_pools":["p"]}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"default_pools":["`+pid+`"]`) {
		t.Fatalf("reference by name: %d %s", rec.Code, rec.Body)
	}
}

// FuzzWriteBodies: no body makes a write panic or fail with a 5xx.
func FuzzWriteBodies(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"origins":[null]}`, `{"origins":[{"weight":"x"}]}`, `{"name":"p","origins":[{"address":"127.0.0.1"}]}`,
		`{"type":"http","header":{"Host":["a"]},"expected_codes":"2xx"}`, `{"rules":[null]}`, `{"default_pools":["x"],"name":"a.example.com","ttl":-1}`,
		`{"region_pools":{"WEU":null}}`, `{"notification_email":5}`, "\x00", `{"load_shedding":{"default_percent":1e999}}`,
	} {
		f.Add(s)
	}
	h, _, _ := testHandler(f, zerolog.Nop())
	pre := do(h, writeToken, "POST", "/user/load_balancers/pools", `{"name":"seed","origins":[{"name":"a","address":"127.0.0.1"}]}`)
	if pre.Code != 200 {
		f.Fatalf("%d %s", pre.Code, pre.Body)
	}
	var poolID string
	if i := strings.Index(pre.Body.String(), `"id":"`); i >= 0 {
		poolID = pre.Body.String()[i+6 : i+38]
	}
	paths := []struct{ method, path string }{
		{"POST", "/user/load_balancers/monitors"},
		{"POST", "/user/load_balancers/pools"},
		{"PATCH", "/user/load_balancers/pools/" + poolID},
		{"PUT", "/user/load_balancers/pools/" + poolID},
		{"PATCH", "/user/load_balancers/pools"},
		{"POST", "/user/load_balancers/pools/" + poolID + "/preview"},
		{"POST", "/zones/" + ZoneID("example.com") + "/load_balancers"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			rec := do(h, writeToken, p.method, p.path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", p.method, p.path, body, rec.Code, rec.Body)
			}
		}
	})
}

// TestReload: SIGHUP swaps the file objects; a file that no longer fits the API objects is
// refused and changes nothing.
func TestReload(t *testing.T) {
	h, be, published := testHandler(t, zerolog.Nop())
	rec := do(h, writeToken, "POST", "/user/load_balancers/pools", `{"name":"api-pool","origins":[{"name":"a","address":"127.0.0.1"}]}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if ps := be.Validate(); ps.HasErrors() {
		t.Fatal(ps.Err())
	}
	before := published.Load()
	file := model.Catalog{LoadBalancers: []model.LoadBalancer{{Name: "www.other.test", DefaultPools: []string{"api-pool"}}}}
	if err := be.Reload(file, testZones); err != nil {
		t.Fatal(err)
	}
	lbID := model.DeriveID(model.KindLoadBalancer, "www.other.test")
	st := be.State()
	if !st.FromFile(model.KindLoadBalancer, lbID) || st.Catalog.LoadBalancers[0].DefaultPools[0] != st.Catalog.Pools[0].ID || published.Load() != before+1 {
		t.Fatalf("after reload: %+v", st.Catalog.LoadBalancers)
	}
	if rec := do(h, writeToken, "DELETE", "/user/load_balancers/pools/"+st.Catalog.Pools[0].ID, ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), "www.other.test") {
		t.Fatalf("delete of a pool a file LB uses: %d %s", rec.Code, rec.Body)
	}
	bad := model.Catalog{LoadBalancers: []model.LoadBalancer{{Name: "www.other.test", DefaultPools: []string{"missing"}}}}
	if err := be.Reload(bad, testZones); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("bad reload: %v", err)
	}
	if be.State().Catalog.LoadBalancers[0].DefaultPools[0] != st.Catalog.Pools[0].ID {
		t.Fatal("a refused reload changed the state")
	}
}
