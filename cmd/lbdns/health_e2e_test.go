package main

// End-to-end tests of health checking (issue 4): `lbdns serve` probing real HTTP origins on
// loopback addresses, failover and failback in DNS answers, the cold start of ruling 8,
// /readyz and /metrics, and the health state kept in data_dir.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const hcZone = `$ORIGIN hc.test.
$TTL 300
@   IN SOA ns1 hostmaster 1 3600 600 86400 60
@   IN NS  ns1
ns1 IN A   127.0.0.1
`

// hcConfig: %[1]d is the origins' common port, %[2]s the DNS listen address, %[3]s the
// metrics listen address, %[4]s extra top-level lines (data_dir).
const hcConfig = `server:
  listen: ["%[2]s"]
metrics:
  listen: "%[3]s"
%[4]s
zones:
  - name: hc.test
    file: hc.test.zone
monitors:
  - name: web
    type: http
    path: /health
    port: %[1]d
    interval: 5
    timeout: 1
    retries: 0
    consecutive_down: 1
    consecutive_up: 1
    expected_codes: "200"
pools:
  - name: primary
    monitor: web
    origins:
      - { name: p1, address: 127.0.0.31 }
      - { name: p2, address: 127.0.0.32 }
  - name: secondary
    monitor: web
    origins:
      - { name: s1, address: 127.0.0.33 }
      - { name: s2, address: 127.0.0.34 }
load_balancers:
  - name: www.hc.test
    steering_policy: "off"
    default_pools: [primary, secondary]
    fallback_pool: secondary
`

const (
	hcPrimary   = "A 127.0.0.31 | A 127.0.0.32"
	hcSecondary = "A 127.0.0.33 | A 127.0.0.34"
)

// hcOrigin is one HTTP origin: /health answers status after delay.
type hcOrigin struct {
	status atomic.Int32
	delay  atomic.Int64 // nanoseconds
	hits   atomic.Int64
	srv    *http.Server
}

// hcOrigins are the four origins of hcConfig, all on one port.
type hcOrigins struct {
	port int
	byIP map[string]*hcOrigin
}

// startHCOrigins listens on 127.0.0.31-34 with one common port.
func startHCOrigins(t *testing.T) *hcOrigins {
	t.Helper()
	ips := []string{"127.0.0.31", "127.0.0.32", "127.0.0.33", "127.0.0.34"}
	lns, port := listenOnePort(t, ips...)
	o := &hcOrigins{port: port, byIP: map[string]*hcOrigin{}}
	for i, ln := range lns {
		or := &hcOrigin{}
		or.status.Store(http.StatusOK)
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
			or.hits.Add(1)
			if d := time.Duration(or.delay.Load()); d > 0 {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
			w.WriteHeader(int(or.status.Load()))
			fmt.Fprintln(w, "health")
		})
		or.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = or.srv.Serve(ln) }()
		o.byIP[ips[i]] = or
	}
	t.Cleanup(func() {
		for _, or := range o.byIP {
			_ = or.srv.Close()
		}
	})
	return o
}

// set sets status and delay of the origins at the given addresses.
func (o *hcOrigins) set(status int, delay time.Duration, ips ...string) {
	for _, ip := range ips {
		o.byIP[ip].status.Store(int32(status))
		o.byIP[ip].delay.Store(int64(delay))
	}
}

var (
	hcPrimaryIPs   = []string{"127.0.0.31", "127.0.0.32"}
	hcSecondaryIPs = []string{"127.0.0.33", "127.0.0.34"}
)

// writeHCConfig writes the health test config and zone into dir and returns the config path.
func writeHCConfig(t *testing.T, dir string, port int, dnsAddr, metricsAddr, extra string) string {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"lbdns.yaml":   fmt.Sprintf(hcConfig, port, dnsAddr, metricsAddr, extra),
		"hc.test.zone": hcZone,
	})
	return filepath.Join(dir, "lbdns.yaml")
}

// hcAnswer returns the sorted A records of www.hc.test (or the rcode when not NOERROR).
func hcAnswer(t *testing.T, addr string) string {
	t.Helper()
	r := query(t, "udp", addr, "www.hc.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess {
		return dns.RcodeToString[r.Rcode]
	}
	return lbRdata(r.Answer)
}

// hcIsPrimary reports whether a is a non-empty subset of the primary pool's answer (while
// health changes, one of the primary's origins may already be back and the other not yet). A
// first answer must be the whole primary: pkg/health closes Ready only once the View it
// publishes holds every first-round result (ruling 8).
func hcIsPrimary(a string) bool {
	return a == hcPrimary || a == "A 127.0.0.31" || a == "A 127.0.0.32"
}

// hcWaitAnswer polls www.hc.test every 50 ms until ok(answer) or the deadline; it returns the
// time it took and every distinct answer seen on the way.
func hcWaitAnswer(t *testing.T, addr string, limit time.Duration, ok func(string) bool) (time.Duration, []string, bool) {
	t.Helper()
	start := time.Now()
	var seen []string
	for time.Since(start) < limit {
		a := hcAnswer(t, addr)
		if len(seen) == 0 || seen[len(seen)-1] != a {
			seen = append(seen, a)
		}
		if ok(a) {
			return time.Since(start), seen, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), seen, false
}

// TestHealthFailoverE2E measures failover and failback in DNS answers with real origins:
// interval 5, timeout 1, retries 0, consecutive_down 1, consecutive_up 1, so each must take at
// most consecutive × interval + timeout + 1 s = 7 s.
func TestHealthFailoverE2E(t *testing.T) {
	o := startHCOrigins(t)
	hooks := make(chan hcHook, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h hcHook
		if err := json.NewDecoder(r.Body).Decode(&h); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		select {
		case hooks <- h:
		default:
		}
	}))
	defer hook.Close()
	notify := fmt.Sprintf("notifications:\n  - { name: ops, webhook: %q, pools: [primary], event_source: [pool] }", hook.URL+"/hook")
	cfg := writeHCConfig(t, t.TempDir(), o.port, "127.0.0.1:0", "127.0.0.1:0", notify)
	p := startServe(t, cfg)
	if a := hcAnswer(t, p.DNS); a != hcPrimary {
		t.Fatalf("at ready: %s, want the primary's %s\n%s", a, hcPrimary, p.logText())
	}
	const bound = 5*time.Second + time.Second + time.Second
	const limit = bound + 2*time.Second // poll a little longer, to report how late it was

	n := p.logCount()
	o.set(http.StatusServiceUnavailable, 0, hcPrimaryIPs...)
	failover, seen, ok := hcWaitAnswer(t, p.DNS, limit, func(a string) bool { return a == hcSecondary })
	if !ok {
		t.Fatalf("answers did not move to the secondary within %s; seen %q\n%s", limit, seen, p.logText())
	}
	for _, a := range seen[:len(seen)-1] {
		if !hcIsPrimary(a) {
			t.Errorf("during failover an answer was %q: neither the primary's nor the secondary's", a)
		}
	}
	t.Logf("failover: %.2f s from the primary answering 503 to DNS answering the secondary (bound %s)", failover.Seconds(), bound)
	if failover > bound {
		t.Errorf("failover took %s, more than %s", failover, bound)
	}
	m, _ := p.waitLog("health changed", n, time.Second)
	if m["health"] != "Unhealthy" && m["level"] != "warn" {
		t.Errorf("first health change logged: %v", m)
	}
	metrics := hcHTTPGet(t, "http://"+p.HTTP[0]+"/metrics")
	for _, want := range []string{
		`lbdns_origin_healthy{origin="p1",pool="primary"} 0`,
		`lbdns_origin_healthy{origin="p2",pool="primary"} 0`,
		`lbdns_pool_healthy{pool="primary"} 0`,
		`lbdns_pool_healthy{pool="secondary"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("after failover /metrics lacks %s", want)
		}
	}

	hcWantHook(t, hooks, "Unhealthy")

	o.set(http.StatusOK, 0, hcPrimaryIPs...)
	failback, seen, ok := hcWaitAnswer(t, p.DNS, limit, hcIsPrimary)
	if !ok {
		t.Fatalf("answers did not move back to the primary within %s; seen %q\n%s", limit, seen, p.logText())
	}
	for _, a := range seen[:len(seen)-1] {
		if a != hcSecondary {
			t.Errorf("during failback an answer was %q", a)
		}
	}
	t.Logf("failback: %.2f s from the primary answering 200 again to DNS answering the primary (bound %s)", failback.Seconds(), bound)
	if failback > bound {
		t.Errorf("failback took %s, more than %s", failback, bound)
	}
	hcWantHook(t, hooks, "Healthy")
}

// hcHook is the part of a webhook notification the tests read.
type hcHook struct {
	Name      string `json:"name"`
	AlertType string `json:"alert_type"`
	Data      struct {
		EventSource string `json:"event_source"`
		NewHealth   string `json:"new_health"`
		Pool        struct {
			Name    string `json:"name"`
			Healthy bool   `json:"healthy"`
		} `json:"pool"`
	} `json:"data"`
}

// hcWantHook waits (at most 5 s) for the next webhook notification and checks it is the
// primary pool's change to health.
func hcWantHook(t *testing.T, hooks <-chan hcHook, health string) {
	t.Helper()
	select {
	case h := <-hooks:
		if h.Name != "ops" || h.AlertType != "load_balancing_health_alert" || h.Data.EventSource != "pool" ||
			h.Data.NewHealth != health || h.Data.Pool.Name != "primary" || h.Data.Pool.Healthy != (health == "Healthy") {
			t.Errorf("webhook %+v, want pool primary %s", h, health)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no webhook notification of the primary becoming %s within 5 s", health)
	}
}

// hcWaitAddr waits (at most 10 s) until serve has logged the address of its first DNS (dns
// true) or HTTP listener, and returns it.
func hcWaitAddr(t *testing.T, p *proc, dns bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		addr := p.DNS
		if !dns {
			addr = ""
			if len(p.HTTP) > 0 {
				addr = p.HTTP[0]
			}
		}
		p.mu.Unlock()
		if addr != "" {
			return addr
		}
		select {
		case <-p.done:
			t.Fatalf("lbdns exited: %v\n%s", p.err, p.logText())
		case <-time.After(time.Millisecond):
		}
	}
	t.Fatalf("no listener logged within 10 s\n%s", p.logText())
	return ""
}

// hcFirstAnswer queries www.hc.test (a load-balanced name) from the moment serve logs its DNS
// address (the log line follows the bind at once; ports are 0, so no other process can
// answer) until it answers NOERROR, and returns that reply, the address and when it came
// (since start). Ruling 8: DNS service for load-balanced names starts with the first health
// round, so until then every reply must be SERVFAIL, never an answer (the fallback's least
// of all); zone data (ns1.hc.test) is answered from the first moment.
func hcFirstAnswer(t *testing.T, p *proc, start time.Time) (*dns.Msg, string, time.Duration) {
	t.Helper()
	addr := hcWaitAddr(t, p, true)
	c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
	static := new(dns.Msg)
	static.SetQuestion("ns1.hc.test.", dns.TypeA)
	if r, _, err := c.Exchange(static, addr); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("zone data right after the bind: %v %v, want ns1.hc.test's A", r, err)
	}
	m := new(dns.Msg)
	m.SetQuestion("www.hc.test.", dns.TypeA)
	servfails := 0
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("query to %s: %v\n%s", addr, err, p.logText())
		}
		if r.Rcode == dns.RcodeServerFailure && len(r.Answer) == 0 {
			servfails++
			time.Sleep(2 * time.Millisecond)
			continue
		}
		t.Logf("first answer after %d SERVFAIL replies during the first health round", servfails)
		return r, addr, time.Since(start)
	}
	t.Fatalf("www.hc.test still SERVFAIL after 10 s\n%s", p.logText())
	return nil, addr, 0
}

func hcHTTPGet(t *testing.T, url string) string {
	t.Helper()
	code, body, err := hcHTTPTry(url)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, code, err, body)
	}
	return body
}

func hcHTTPTry(url string) (int, string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestHealthColdStart (ruling 8): DNS answers for a load-balanced name are never the fallback
// when the primary is healthy: from the moment serve logs its DNS address the name answers
// SERVFAIL until the first round is in, then the whole primary (zone data is served at once);
// /readyz is 503 until the first round is done and 200 after; /metrics carries the health and
// DNS series.
func TestHealthColdStart(t *testing.T) {
	o := startHCOrigins(t)
	// The first round takes at least 400 ms (within the 1 s timeout), so the window in which
	// a server that answered too early would give the fallback is wide.
	o.set(http.StatusOK, 400*time.Millisecond, hcPrimaryIPs...)
	cfg := writeHCConfig(t, t.TempDir(), o.port, "127.0.0.1:0", "127.0.0.1:0", "")
	start := time.Now()
	p := startServeNoWait(t, cfg)
	// The metrics listener is logged before the prober starts: /readyz is polled from then.
	metricsAddr := hcWaitAddr(t, p, false)

	// /readyz, polled from the start until it says 200.
	type sample struct {
		at   time.Duration
		code int
	}
	var mu sync.Mutex
	var readyz []sample
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			code, _, err := hcHTTPTry("http://" + metricsAddr + "/readyz")
			if err == nil {
				mu.Lock()
				readyz = append(readyz, sample{time.Since(start), code})
				mu.Unlock()
				if code == http.StatusOK {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	first, dnsAddr, firstAt := hcFirstAnswer(t, p, start)
	if got := lbRdata(first.Answer); first.Rcode != dns.RcodeSuccess || got != hcPrimary {
		t.Errorf("first answer (at %s): %s %s, want the primary's %s", firstAt, dns.RcodeToString[first.Rcode], got, hcPrimary)
	}
	// Queries right after must agree.
	for i := 0; i < 20; i++ {
		if a := hcAnswer(t, dnsAddr); a != hcPrimary {
			t.Errorf("query %d after the first: %s", i, a)
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(readyz) == 0 || readyz[len(readyz)-1].code != http.StatusOK {
		t.Fatalf("/readyz never said 200: %v", readyz)
	}
	if readyz[0].code != http.StatusServiceUnavailable {
		t.Errorf("/readyz first said %d at %s, want 503 before the first round is done", readyz[0].code, readyz[0].at)
	}
	for _, s := range readyz[:len(readyz)-1] {
		if s.code != http.StatusServiceUnavailable {
			t.Errorf("/readyz said %d at %s before 200", s.code, s.at)
		}
	}
	t.Logf("cold start: /readyz 503 ×%d from %s, 200 at %s; first DNS answer at %s (primary)",
		len(readyz)-1, readyz[0].at.Round(time.Millisecond), readyz[len(readyz)-1].at.Round(time.Millisecond), firstAt.Round(time.Millisecond))
	if code, _, _ := hcHTTPTry("http://" + metricsAddr + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after ready: %d", code)
	}

	metrics := hcHTTPGet(t, "http://"+metricsAddr+"/metrics")
	for _, re := range []string{
		`(?m)^lbdns_origin_healthy\{origin="p1",pool="primary"\} 1$`,
		`(?m)^lbdns_origin_healthy\{origin="s2",pool="secondary"\} 1$`,
		`(?m)^lbdns_pool_healthy\{pool="primary"\} 1$`,
		`(?m)^lbdns_probes_total\{result="success",type="http"\} [1-9]`,
		`(?m)^lbdns_dns_requests_total\{proto="udp",qtype="A"\} [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics does not match %s", re)
		}
	}
}

// TestHealthStatePersists (ruling 8): the health state is saved in data_dir on stop and seeds
// the next start before its first probe is back.
func TestHealthStatePersists(t *testing.T) {
	o := startHCOrigins(t)
	o.set(http.StatusServiceUnavailable, 0, hcPrimaryIPs...)
	dir := t.TempDir()
	cfg := writeHCConfig(t, dir, o.port, "127.0.0.1:0", "127.0.0.1:0", "data_dir: data")
	p := startServe(t, cfg)
	if a := hcAnswer(t, p.DNS); a != hcSecondary {
		t.Fatalf("primary down at start: %s, want the secondary's %s", a, hcSecondary)
	}
	p.stop()
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v", p.err)
	}

	b, err := os.ReadFile(filepath.Join(dir, "data", "health.json"))
	if err != nil {
		t.Fatalf("no health state in data_dir after stop: %v", err)
	}
	var saved struct {
		Targets []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			State   string `json:"state"`
			Code    int    `json:"code"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatalf("health.json: %v\n%s", err, b)
	}
	states := map[string]string{}
	for _, tg := range saved.Targets {
		if tg.Port != o.port {
			t.Errorf("saved target %s port %d, want %d", tg.Address, tg.Port, o.port)
		}
		states[tg.Address] = fmt.Sprintf("%s/%d", tg.State, tg.Code)
	}
	want := map[string]string{"127.0.0.31": "unhealthy/503", "127.0.0.32": "unhealthy/503", "127.0.0.33": "healthy/200", "127.0.0.34": "healthy/200"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("saved states %v, want %v", states, want)
	}

	// explain without --health uses the saved state: the secondary answers.
	out, err := exec.Command(binPath, "explain", "--config", cfg, "www.hc.test", "A", "--client", "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "health.json (the prober's last known state)") ||
		!regexp.MustCompile(`(?m)^www\.hc\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.3[34]$`).Match(out) ||
		regexp.MustCompile(`(?m)^www\.hc\.test\..*127\.0\.0\.3[12]$`).Match(out) {
		t.Errorf("explain with the saved state should answer from the secondary:\n%s", out)
	}

	// Restart with every origin slow (800 ms, within the 1 s timeout): a /metrics scrape
	// before any probe is back must already show the saved verdicts.
	o.set(http.StatusServiceUnavailable, 800*time.Millisecond, hcPrimaryIPs...)
	o.set(http.StatusOK, 800*time.Millisecond, hcSecondaryIPs...)
	p2 := startServeNoWait(t, cfg)
	restored, _ := p2.waitLog("health state restored", 0, 5*time.Second)
	if n, _ := restored["targets"].(float64); n != 4 {
		t.Errorf("restored log: %v, want 4 targets", restored)
	}
	metricsAddr := hcWaitAddr(t, p2, false)
	var early string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if code, body, err := hcHTTPTry("http://" + metricsAddr + "/metrics"); err == nil && code == http.StatusOK {
			early = body
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if early == "" {
		t.Fatalf("no /metrics scrape\n%s", p2.logText())
	}
	if regexp.MustCompile(`(?m)^lbdns_probes_total\{`).MatchString(early) {
		t.Logf("the first scrape came after a probe result; the restored state is checked by the log only")
	} else {
		for _, want := range []string{
			`lbdns_origin_healthy{origin="p1",pool="primary"} 0`,
			`lbdns_origin_healthy{origin="s1",pool="secondary"} 1`,
			`lbdns_origin_healthy{origin="s2",pool="secondary"} 1`,
			`lbdns_pool_healthy{pool="secondary"} 1`,
		} {
			if !strings.Contains(early, want) {
				t.Errorf("before the first probe result, /metrics lacks %s (restored state)", want)
			}
		}
	}
	select {
	case <-p2.ready:
	case <-p2.done:
		t.Fatalf("lbdns exited: %v\n%s", p2.err, p2.logText())
	case <-time.After(10 * time.Second):
		t.Fatalf("not ready\n%s", p2.logText())
	}
	if a := hcAnswer(t, hcWaitAddr(t, p2, true)); a != hcSecondary {
		t.Errorf("after restart with the primary down: %s, want %s", a, hcSecondary)
	}
	p2.stop()
	if p2.err != nil {
		t.Errorf("second run: exit after SIGTERM: %v", p2.err)
	}

	// Third start: the saved state says the primary is down, but it is healthy now (slowly,
	// 400 ms). The load-balanced name is served only after the first round (ruling 8; SERVFAIL
	// before), so even its first answer is the primary's, not the restored verdict's.
	o.set(http.StatusOK, 400*time.Millisecond, hcPrimaryIPs...)
	o.set(http.StatusOK, 0, hcSecondaryIPs...)
	start := time.Now()
	p3 := startServeNoWait(t, cfg)
	first, _, at := hcFirstAnswer(t, p3, start)
	if got := lbRdata(first.Answer); got != hcPrimary {
		t.Errorf("third start, first answer (at %s): %s, want the primary's %s (restored as down, healthy now)", at, got, hcPrimary)
	}
	p3.stop()
}
