package main

// Edge cases of API writes: a write the snapshot build refuses, and API writes racing a
// SIGHUP reload that fails.

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/api"
)

// delegatedZone has a delegation (sub) below which a load balancer cannot be served.
const delegatedZone = coreZone + "sub IN NS ns.sub\nns.sub IN A 192.0.2.53\n"

// TestAPIRefusedPublishRollsBack: a load balancer below a delegation passes the API's
// validation but not the snapshot build; the write is refused, nothing is stored or served,
// and the next start is clean.
func TestAPIRefusedPublishRollsBack(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	writeFiles(t, dir, map[string]string{"example.test.zone": delegatedZone})
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pid := createPool(t, w, "p", "198.51.100.5")
	for _, name := range []string{"x.sub.example.test", "sub.example.test"} {
		e := w.do(t, "POST", zl, map[string]any{"name": name, "default_pools": []string{pid}})
		checkEnvelope(t, "POST "+name, e, false)
		if e.Status/100 == 2 {
			t.Fatalf("POST %s below a delegation: HTTP %d", name, e.Status)
		}
		if !strings.Contains(e.errText(), name) {
			t.Errorf("POST %s: error %q does not name it", name, e.errText())
		}
	}
	var lbs []struct{ Name string }
	w.ok(t, "GET", zl, nil).into(t, &lbs)
	if len(lbs) != 0 {
		t.Errorf("refused load balancers are listed: %+v", lbs)
	}
	r := query(t, "udp", s.DNS, "x.sub.example.test", dns.TypeA)
	if len(r.Answer) != 0 || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeNS {
		t.Errorf("below the delegation after the refused write: %v", r)
	}
	s.stop()
	s = startAPIServe(t, dir, cfg)
	newRaw(s.base, e2eReadToken).ok(t, "GET", zl, nil).into(t, &lbs)
	if len(lbs) != 0 {
		t.Errorf("a refused load balancer came back after a restart: %+v", lbs)
	}
}

// TestAPILBBelowDelegationIs400: the refused write above is invalid input, so a 400 naming
// the field (CONTRACT §4, ruling 34), not a 500 (which cloudflare-go also retries).
func TestAPILBBelowDelegationIs400(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	writeFiles(t, dir, map[string]string{"example.test.zone": delegatedZone})
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pid := createPool(t, w, "p", "198.51.100.5")
	e := w.do(t, "POST", zl, map[string]any{"name": "x.sub.example.test", "default_pools": []string{pid}})
	wantError(t, "LB below a delegation", e, http.StatusBadRequest, "name", "delegation")
}

// TestAPIWritesDuringFailedReload (ruling 41): a SIGHUP whose config does not fit the API's
// objects (a file load balancer with the name of an API one) keeps serving the old state,
// zone data included, even while API writes are being published.
func TestAPIWritesDuringFailedReload(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pid := createPool(t, w, "p", "198.51.100.5")
	var lb struct{ ID string }
	w.ok(t, "POST", zl, map[string]any{"name": "api.example.test", "default_pools": []string{pid}}).into(t, &lb)

	// The bad reload: new zone data (www → 192.0.2.99) and a file LB clashing with the API's.
	writeFiles(t, dir, map[string]string{"example.test.zone": strings.Replace(coreZone, "192.0.2.1", "192.0.2.99", 1)})
	if err := os.WriteFile(filepath.Join(dir, "lbdns.yaml"), []byte(apiConfig(`pools:
  - name: fp
    origins: [{ name: f, address: 192.0.2.32 }]
load_balancers:
  - name: api.example.test
    default_pools: [fp]
`)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newRaw(s.base, e2eWriteToken)
			for n := 0; !stop.Load() && n < 100000; n++ {
				if e, err := c.try("PATCH", zl+"/"+lb.ID, map[string]any{"ttl": 30 + n%100}); err != nil || e.Status != http.StatusOK {
					t.Errorf("write during reloads: %v %v", err, e)
					return
				}
			}
		}()
	}
	bad := 0
	for i := 0; i < 30; i++ {
		n := s.logCount()
		s.signal(syscall.SIGHUP)
		s.waitLog("reload failed; keeping the running configuration", n, 5*time.Second)
		r := query(t, "udp", s.DNS, "www.example.test", dns.TypeA)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
			bad++
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad > 0 {
		t.Errorf("after %d of 30 failed reloads www.example.test answered the rejected zone file's data", bad)
	}
}

// TestAPITokenRotationOnReload: SIGHUP re-reads the config file, tokens included (CONTRACT §1,
// README "Reload": only listen addresses wait for a restart): a rotated token works and the
// revoked one gets 401 (ruling 29).
func TestAPITokenRotationOnReload(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	writeFiles(t, dir, map[string]string{"admin.token": "rotated-write-token\n"})
	n := s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reloaded", n, 5*time.Second)
	wantError(t, "revoked token", newRaw(s.base, e2eWriteToken).do(t, "GET", acct+"/pools", nil), http.StatusUnauthorized)
	newRaw(s.base, "rotated-write-token").ok(t, "GET", acct+"/pools", nil)
}

// TestAPIServerUnderRaceDetector (opt-in, LBDNS_E2E_RACE=1, about 30 s): lbdns built with
// -race runs the concurrent API tests (writers against DNS queries, health changes, reloads,
// kill -9 rounds); any data race it reports fails the test.
func TestAPIServerUnderRaceDetector(t *testing.T) {
	if os.Getenv("LBDNS_E2E_RACE") != "1" {
		t.Skip("opt-in: LBDNS_E2E_RACE=1")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lbdns-race")
	if out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	old := binPath
	binPath = bin
	defer func() { binPath = old }()
	t.Setenv("GORACE", "log_path="+filepath.Join(dir, "race"))
	t.Setenv("LBDNS_CRASH_ROUNDS", "20")
	for _, sub := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"concurrent", TestAPIConcurrentWritesAtomicDNS}, {"lifecycle", TestAPICloudflareGoLifecycle},
		{"health", TestAPIHealthFailover}, {"keephealth", TestAPIWritesKeepHealth}, {"reload", TestAPIObjectsAcrossReload},
		{"zones", TestAPIZonesFollowReload}, {"preview", TestAPIPreview}, {"crash", TestCrashSafetyKill9},
	} {
		t.Run(sub.name, sub.f)
	}
	reports, _ := filepath.Glob(filepath.Join(dir, "race.*"))
	for _, r := range reports {
		b, _ := os.ReadFile(r)
		t.Errorf("data race in lbdns (%s):\n%s", r, b)
	}
}

// TestAPIWritesDuringGoodReloads: one client writes (the LB's ttl) while 20 successful SIGHUP
// reloads bump the zone; no write fails, and afterwards the API and DNS hold the last
// acknowledged value.
func TestAPIWritesDuringGoodReloads(t *testing.T) {
	dir, cfg := writeAPIFiles(t, "")
	s := startAPIServe(t, dir, cfg)
	w := newRaw(s.base, e2eWriteToken)
	zl := "/zones/" + api.ZoneID("example.test") + "/load_balancers"
	pid := createPool(t, w, "p", "198.51.100.5")
	var lb struct{ ID string }
	w.ok(t, "POST", zl, map[string]any{"name": "api.example.test", "default_pools": []string{pid}}).into(t, &lb)
	var stop atomic.Bool
	var last atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := newRaw(s.base, e2eWriteToken)
		for n := 0; !stop.Load() && n < 100000; n++ {
			ttl := 1 + n%86400
			e, err := c.try("PATCH", zl+"/"+lb.ID, map[string]any{"ttl": ttl})
			if err != nil || e.Status != http.StatusOK {
				t.Errorf("write during reloads: %v %v", err, e)
				return
			}
			last.Store(int64(ttl))
		}
	}()
	for i := 0; i < 20; i++ {
		writeFiles(t, dir, map[string]string{"example.test.zone": strings.Replace(coreZone, "hostmaster 1 ", "hostmaster "+strconv.Itoa(2+i)+" ", 1)})
		n := s.logCount()
		s.signal(syscall.SIGHUP)
		s.waitLog("reloaded", n, 5*time.Second)
	}
	stop.Store(true)
	<-done
	var got struct{ TTL int }
	w.ok(t, "GET", zl+"/"+lb.ID, nil).into(t, &got)
	if int64(got.TTL) != last.Load() {
		t.Errorf("ttl after the reloads: %d, last acknowledged %d", got.TTL, last.Load())
	}
	a, err := lookupA(&dns.Client{Timeout: time.Second}, s.DNS, "api.example.test")
	if err != nil || len(a.TTLs) != 1 || int64(a.TTLs[0]) != last.Load() {
		t.Errorf("DNS after the reloads: %v (err %v), want ttl %d", a, err, last.Load())
	}
	r := query(t, "udp", s.DNS, "example.test", dns.TypeSOA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial < 21 {
		t.Errorf("SOA after 20 reloads: %v", r.Answer)
	}
}
