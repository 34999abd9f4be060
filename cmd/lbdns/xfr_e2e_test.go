package main

// End-to-end zone transfer tests: the real `lbdns serve` binary with real peer servers on
// loopback (Knot as a primary of lbdns; NSD and BIND as secondaries of lbdns), TSIG
// hmac-sha256 everywhere, NOTIFY both ways, the saved copy of a secondary zone across a
// restart with the primary down, SOA expire, transfer refusals and /readyz.
//
// The peers are Debian packages (knot, nsd, bind9: `make deps` installs them); a test whose
// peer is missing is skipped with a message saying which package to install.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/xfr/xfrtest"
)

const (
	xfrKeyName = "xfr-key."
	xfrSecret  = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=" // base64, as docs/examples/secrets/xfr.key
	xfrOther   = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItMTI=" // same key name, another secret
)

// xfrAns is one reply, reduced: rcode, AA, and the answer records as "TYPE rdata", sorted.
type xfrAns struct {
	Rcode string
	AA    bool
	RRs   []string
	Err   error
}

func (a xfrAns) String() string {
	if a.Err != nil {
		return "error: " + a.Err.Error()
	}
	return fmt.Sprintf("%s aa=%v %q", a.Rcode, a.AA, a.RRs)
}

// xfrAsk sends one UDP query (no RD) and never fails the test.
func xfrAsk(addr, name string, qtype uint16) xfrAns {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, addr)
	if err != nil {
		return xfrAns{Err: err}
	}
	a := xfrAns{Rcode: dns.RcodeToString[r.Rcode], AA: r.Authoritative}
	for _, rr := range r.Answer {
		f := strings.Fields(rr.String())
		a.RRs = append(a.RRs, strings.Join(f[3:], " "))
	}
	sort.Strings(a.RRs)
	return a
}

// xfrSerial is the SOA serial addr serves for origin (0 when it serves none).
func xfrSerial(addr, origin string) uint32 {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(origin), dns.TypeSOA)
	m.RecursionDesired = false
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, addr)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		return 0
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	return 0
}

// xfrWait polls every 50 ms until ok or the deadline; it returns whether ok held and the
// distinct values seen, for the failure message.
func xfrWait(limit time.Duration, probe func() string, ok func(string) bool) (bool, []string) {
	var seen []string
	for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		v := probe()
		if len(seen) == 0 || seen[len(seen)-1] != v {
			seen = append(seen, v)
		}
		if ok(v) {
			return true, seen
		}
		if time.Now().After(deadline) {
			return false, seen
		}
	}
}

// xfrReadyz fetches /readyz: status code, the text lines, and the zone states (JSON lines).
func xfrReadyz(t *testing.T, metricsAddr string) (int, string, map[string]map[string]any) {
	t.Helper()
	code, body, err := hcHTTPTry("http://" + metricsAddr + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	states := map[string]map[string]any{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("/readyz line %q: %v", line, err)
			continue
		}
		if z, _ := m["zone"].(string); z != "" {
			states[dns.Fqdn(strings.ToLower(z))] = m
		}
	}
	return code, body, states
}

// xfrMetricsAddr is the address of the metrics listener serve logged.
func xfrMetricsAddr(t *testing.T, p *proc) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.logs {
		if m["message"] == "serving HTTP" && m["listener"] == "metrics" {
			a, _ := m["addr"].(string)
			return a
		}
	}
	t.Fatalf("no metrics listener logged\n%s", strings.Join(p.raw, "\n"))
	return ""
}

// xfrFindLog returns the first log line from index from with message msg for which match
// (if set) holds.
func xfrFindLog(p *proc, from int, msg string, match func(map[string]any) bool) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := from; i < len(p.logs); i++ {
		if p.logs[i]["message"] == msg && (match == nil || match(p.logs[i])) {
			return p.logs[i]
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Knot as the primary, lbdns the secondary (cases 1, 2 and 5).

// The SOA: refresh 2, retry 1, expire 8 (short, for the expiry after the restart).
const xfrKnotZoneV1 = `$ORIGIN sec.test.
$TTL 300
@     IN SOA ns1 hostmaster 1 2 1 8 60
@     IN NS  ns1
ns1   IN A   192.0.2.1
www   IN A   192.0.2.10
www   IN TXT "zone data at www"
mail  IN A   192.0.2.20
`

const xfrExpire = 8 * time.Second
const xfrRefresh = 2 * time.Second

const xfrSecondaryConfig = `server:
  listen: ["127.0.0.1:%d"]
metrics:
  listen: "127.0.0.1:0"
data_dir: data
zones:
  - name: sec.test
    primaries: ["127.0.0.1:%d"]
    tsig: { name: xfr-key, algorithm: hmac-sha256, secret_file: xfr.key }
pools:
  - name: web
    origins:
      - { name: web-1, address: 198.51.100.1 }
      - { name: web-2, address: 198.51.100.2 }
load_balancers:
  - name: www.sec.test
    default_pools: [web]
    fallback_pool: web
    ttl: 30
  - name: mail.sec.test
    enabled: false
    default_pools: [web]
    fallback_pool: web
`

// TestXfrKnotPrimaryE2E: Knot is the primary of sec.test with TSIG, lbdns its secondary.
// The zone arrives by AXFR; the load balancer at www replaces the transferred A and leaves the
// other names and types alone; the disabled one at mail leaves the transferred A (ruling 21); a change at Knot (serial 2, zone-reload) reaches lbdns by
// NOTIFY and IXFR; /readyz shows the transfer state. Then Knot stops and lbdns restarts on the
// same data_dir: the saved copy is served at once, and SERVFAIL follows once the SOA's expire
// has passed since the last contact with Knot.
func TestXfrKnotPrimaryE2E(t *testing.T) {
	if _, err := exec.LookPath("knotd"); err != nil {
		t.Skip("knotd not installed (apt-get install knot): skipping the Knot primary e2e test")
	}
	t.Parallel()
	dir := t.TempDir()
	knotPort, lbPort := xfrtest.FreePort(t), xfrtest.FreePort(t)
	knotAddr := fmt.Sprintf("127.0.0.1:%d", knotPort)
	knotDir := filepath.Join(dir, "knot")
	knotConf := xfrtest.Conf{Port: knotPort, Dir: knotDir, Zone: "sec.test", Secret: xfrSecret, LBDNS: lbPort}.Knot()
	writeFiles(t, knotDir, map[string]string{"knot.conf": knotConf, "sec.test.zone": xfrKnotZoneV1})
	knotConfFile := filepath.Join(knotDir, "knot.conf")
	lbDir := writeFiles(t, filepath.Join(dir, "lbdns"), map[string]string{
		"lbdns.yaml": fmt.Sprintf(xfrSecondaryConfig, lbPort, knotPort),
		"xfr.key":    xfrSecret + "\n",
	})
	cfg := filepath.Join(lbDir, "lbdns.yaml")

	knot := xfrtest.Start(t, knotAddr, "sec.test", true, "", "knotd", "-c", knotConfFile)
	lb := startServe(t, cfg)
	addr := lb.DNS
	metrics := xfrMetricsAddr(t, lb)

	// Case 1: AXFR with TSIG.
	if ok, seen := xfrWait(10*time.Second, func() string { return fmt.Sprint(xfrSerial(addr, "sec.test")) },
		func(s string) bool { return s == "1" }); !ok {
		t.Fatalf("lbdns never served serial 1 of sec.test (serials seen: %v)\n%s", seen, lb.logText())
	}
	if m := xfrFindLog(lb, 0, "xfr: transfer in", func(m map[string]any) bool { return m["type"] == "AXFR" }); m == nil {
		t.Errorf("no AXFR logged\n%s", lb.logText())
	}
	wantLB := []string{"A 198.51.100.1", "A 198.51.100.2"}
	check := func(when, name string, qtype uint16, want ...string) {
		t.Helper()
		got := xfrAsk(addr, name, qtype)
		if got.Rcode != "NOERROR" || !got.AA || !slices.Equal(got.RRs, want) {
			t.Errorf("%s: %s %s = %s, want NOERROR aa %q", when, name, dns.TypeToString[qtype], got, want)
		}
	}
	check("after AXFR (the LB replaces the transferred A)", "www.sec.test", dns.TypeA, wantLB...)
	check("after AXFR (other types at the LB name: zone data)", "www.sec.test", dns.TypeTXT, `TXT "zone data at www"`)
	check("after AXFR (a disabled LB: the transferred A)", "mail.sec.test", dns.TypeA, "A 192.0.2.20")
	check("after AXFR", "ns1.sec.test", dns.TypeA, "A 192.0.2.1")
	if got := xfrAsk(addr, "nope.sec.test", dns.TypeA); got.Rcode != "NXDOMAIN" || !got.AA {
		t.Errorf("after AXFR: nope.sec.test A = %s, want NXDOMAIN aa", got)
	}

	// Case 5: /readyz shows the secondary zone's transfer state.
	code, body, states := xfrReadyz(t, metrics)
	st := states["sec.test."]
	if code != http.StatusOK || st == nil || st["role"] != "secondary" || st["loaded"] != true ||
		st["serial"] != float64(1) || st["last_transfer"] == nil || st["last_contact"] == nil ||
		!strings.Contains(fmt.Sprint(st["primaries"]), knotAddr) {
		t.Errorf("/readyz after the AXFR: %d\n%s", code, body)
	}

	// Case 1, continued: a change at Knot, NOTIFY, IXFR.
	from := lb.logCount()
	v2 := strings.Replace(xfrKnotZoneV1, " 1 2 1 8 60", " 2 2 1 8 60", 1)
	v2 = strings.Replace(v2, "192.0.2.20", "192.0.2.21", 1)
	v2 = strings.Replace(v2, "192.0.2.10", "192.0.2.11", 1) + "api   IN A   192.0.2.30\n"
	writeFiles(t, knotDir, map[string]string{"sec.test.zone": v2})
	if out, err := exec.Command("knotc", "-c", knotConfFile, "zone-reload", "sec.test").CombinedOutput(); err != nil {
		t.Fatalf("knotc zone-reload: %v: %s", err, out)
	}
	if ok, seen := xfrWait(10*time.Second, func() string { return fmt.Sprint(xfrSerial(addr, "sec.test")) },
		func(s string) bool { return s == "2" }); !ok {
		t.Fatalf("lbdns never served serial 2 after the change at Knot (serials seen: %v)\n%s\nknot:\n%s", seen, lb.logText(), knot.Output())
	}
	check("after IXFR (the LB still replaces the A)", "www.sec.test", dns.TypeA, wantLB...)
	check("after IXFR (changed)", "mail.sec.test", dns.TypeA, "A 192.0.2.21")
	check("after IXFR (added)", "api.sec.test", dns.TypeA, "A 192.0.2.30")
	check("after IXFR", "www.sec.test", dns.TypeTXT, `TXT "zone data at www"`)
	if m := xfrFindLog(lb, from, "xfr: NOTIFY accepted, refreshing", nil); m == nil {
		t.Errorf("Knot's NOTIFY was not logged as accepted\n%s", lb.logText())
	}
	if m := xfrFindLog(lb, from, "xfr: transfer in", func(m map[string]any) bool {
		return m["type"] == "IXFR" && m["serial"] == float64(2) && m["from_serial"] == float64(1)
	}); m == nil {
		t.Errorf("no IXFR 1→2 logged\n%s", lb.logText())
	}
	if code, body, states := xfrReadyz(t, metrics); code != http.StatusOK || states["sec.test."]["serial"] != float64(2) {
		t.Errorf("/readyz after the IXFR: %d\n%s", code, body)
	}

	// NOTIFY for sec.test from an address that is not a primary: REFUSED.
	n := new(dns.Msg)
	n.SetNotify("sec.test.")
	if r := xfrExchangeFrom(t, "udp", "127.0.0.2", addr, n, nil); r == nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("NOTIFY from 127.0.0.2 (not a primary): %v, want REFUSED", r)
	}
	// From the primary's address but unsigned (the zone has tsig, ruling 40): refused too.
	n = new(dns.Msg)
	n.SetNotify("sec.test.")
	if r := xfrExchangeFrom(t, "udp", "127.0.0.1", addr, n, nil); r == nil || (r.Rcode != dns.RcodeRefused && r.Rcode != dns.RcodeNotAuth) {
		t.Errorf("unsigned NOTIFY from the primary's address: %v, want REFUSED or NOTAUTH", r)
	}

	// Case 2: Knot stops, lbdns restarts on the same data_dir.
	knot.Stop()
	knotDown := time.Now()
	lb.stop()
	restart := time.Now()
	lb2 := startServe(t, cfg)
	addr2, metrics2 := lb2.DNS, xfrMetricsAddr(t, lb2)
	first := xfrAsk(addr2, "www.sec.test", dns.TypeA)
	firstMail := xfrAsk(addr2, "mail.sec.test", dns.TypeA)
	firstSerial := xfrSerial(addr2, "sec.test")
	if time.Since(knotDown) >= xfrExpire-xfrRefresh {
		t.Logf("the restart took %s: the saved copy may already be near its expiry", time.Since(restart))
	}
	if first.Rcode != "NOERROR" || !slices.Equal(first.RRs, wantLB) || firstSerial != 2 ||
		firstMail.Rcode != "NOERROR" || !slices.Equal(firstMail.RRs, []string{"A 192.0.2.21"}) {
		t.Errorf("first answers after the restart with the primary down: www %s, mail %s, serial %d; want the saved copy (serial 2)\n%s",
			first, firstMail, firstSerial, lb2.logText())
	}
	if m := xfrFindLog(lb2, 0, "xfr: loaded the saved copy of a secondary zone", nil); m == nil || m["expired"] != false {
		t.Errorf("the saved copy was not loaded (or loaded expired): %v", m)
	}
	if code, body, states := xfrReadyz(t, metrics2); code != http.StatusOK || states["sec.test."]["loaded"] != true || states["sec.test."]["serial"] != float64(2) {
		t.Errorf("/readyz right after the restart: %d\n%s", code, body)
	}

	// Expiry: SERVFAIL once expire has passed since the last contact, which was at most one
	// refresh interval before Knot stopped.
	ok, seen := xfrWait(xfrExpire+4*time.Second, func() string { return xfrAsk(addr2, "mail.sec.test", dns.TypeA).Rcode },
		func(s string) bool { return s == "SERVFAIL" })
	at := time.Since(knotDown)
	if !ok {
		t.Fatalf("no SERVFAIL %s after Knot stopped (SOA expire %s; rcodes seen %v)\n%s", at, xfrExpire, seen, lb2.logText())
	}
	if earliest := xfrExpire - xfrRefresh - 500*time.Millisecond; at < earliest {
		t.Errorf("SERVFAIL %s after Knot stopped: earlier than expire (%s) minus one refresh (%s)", at, xfrExpire, xfrRefresh)
	}
	t.Logf("expired %s after Knot stopped (SOA expire %s, refresh %s)", at.Round(10*time.Millisecond), xfrExpire, xfrRefresh)
	if got := xfrAsk(addr2, "www.sec.test", dns.TypeA); got.Rcode != "SERVFAIL" {
		t.Errorf("www.sec.test (LB name) in the expired zone: %s, want SERVFAIL", got)
	}
	if m := xfrFindLog(lb2, 0, "xfr: secondary zone expired: answering SERVFAIL", nil); m == nil {
		t.Errorf("no expiry logged\n%s", lb2.logText())
	}
	code, body, states = xfrReadyz(t, metrics2)
	if code != http.StatusServiceUnavailable || states["sec.test."]["expired"] != true || !strings.Contains(body, "sec.test") {
		t.Errorf("/readyz with the zone expired: %d\n%s", code, body)
	}
}

// xfrExchangeFrom sends m over netw from local (an address on loopback, port 0) to addr,
// signed when secret is set; it returns the reply even when its TSIG does not verify, nil
// when there is none.
func xfrExchangeFrom(t *testing.T, netw, local, addr string, m *dns.Msg, secret map[string]string) *dns.Msg {
	t.Helper()
	var la net.Addr = &net.UDPAddr{IP: net.ParseIP(local)}
	if netw == "tcp" {
		la = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c := &dns.Client{Net: netw, Timeout: 3 * time.Second, TsigSecret: secret,
		Dialer: &net.Dialer{LocalAddr: la, Timeout: 3 * time.Second}}
	r, _, err := c.Exchange(m, addr)
	if err != nil && r == nil {
		t.Logf("%s exchange from %s: %v", netw, local, err)
	}
	return r
}

// ---------------------------------------------------------------------------------------
// lbdns as the primary, NSD and BIND its secondaries (case 3), and refusals (case 4).

// The SOA refresh is an hour: a secondary that gets the change within seconds got it by NOTIFY.
const xfrPrimaryZone = `$ORIGIN pri.test.
$TTL 300
@      IN SOA ns1 hostmaster 100 3600 600 86400 60
@      IN NS  ns1
ns1    IN A   127.0.0.1
www    IN A   192.0.2.99
www    IN TXT "zone data at www"
other  IN A   192.0.2.50
`

const xfrPrimaryConfig = `server:
  listen: ["127.0.0.1:0"]
metrics:
  listen: "127.0.0.1:0"
data_dir: data
zones:
  - name: pri.test
    file: pri.test.zone
    allow_transfer: ["127.0.0.1/32"]
    also_notify: [%[2]s]
    tsig: { name: xfr-key, algorithm: hmac-sha256, secret_file: xfr.key }
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
  - name: main
    monitor: web
    origins:
      - { name: main-1, address: 127.0.0.41 }
  - name: backup
    origins:
      - { name: backup-1, address: 127.0.0.42 }
load_balancers:
  - name: www.pri.test
    steering_policy: "off"
    default_pools: [main, backup]
    fallback_pool: backup
    ttl: 30
`

// xfrOrigin is an HTTP origin on 127.0.0.41 whose /health answers status.
type xfrOrigin struct {
	port   int
	status atomic.Int32
}

func xfrStartOrigin(t *testing.T) *xfrOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.41:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &xfrOrigin{port: ln.Addr().(*net.TCPAddr).Port}
	o.status.Store(http.StatusOK)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(o.status.Load()))
		fmt.Fprintln(w, "health")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return o
}

// TestXfrSecondariesE2E: lbdns is the primary of pri.test (a file zone) with a load balancer
// whose main pool has a real, monitored HTTP origin on 127.0.0.41; NSD and BIND copy the zone
// with TSIG (allow_transfer + also_notify). They get the LB's answer (127.0.0.41); the origin
// then answers 503, lbdns moves the answer to the backup pool (127.0.0.42), bumps the serial
// and sends NOTIFY, and each secondary serves the new answer and serial within seconds
// (their SOA refresh is an hour).
func TestXfrSecondariesE2E(t *testing.T) {
	type peer struct {
		name, bin string
		conf      func(xfrtest.Conf) string
		port      int
		addr      string
		log       string
	}
	var peers []*peer
	dir := t.TempDir()
	if _, err := exec.LookPath("nsd"); err == nil {
		port := xfrtest.FreePort(t)
		peers = append(peers, &peer{name: "NSD", bin: "nsd", conf: xfrtest.Conf.NSD, port: port,
			addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, "nsd", "nsd.log")})
	} else {
		t.Log("nsd not installed (apt-get install nsd): testing without NSD")
	}
	if _, err := exec.LookPath("named"); err == nil {
		port := xfrtest.FreePort(t)
		peers = append(peers, &peer{name: "BIND", bin: "named", conf: xfrtest.Conf.BIND, port: port,
			addr: fmt.Sprintf("127.0.0.1:%d", port)})
	} else {
		t.Log("named not installed (apt-get install bind9): testing without BIND")
	}
	if len(peers) == 0 {
		t.Skip("neither nsd nor named installed (apt-get install nsd bind9): skipping the secondaries e2e test")
	}
	t.Parallel()

	origin := xfrStartOrigin(t)
	var notify []string
	for _, p := range peers {
		notify = append(notify, `"`+p.addr+`"`)
	}
	lbDir := writeFiles(t, filepath.Join(dir, "lbdns"), map[string]string{
		"lbdns.yaml":    fmt.Sprintf(xfrPrimaryConfig, origin.port, strings.Join(notify, ", ")),
		"pri.test.zone": xfrPrimaryZone,
		"xfr.key":       xfrSecret + "\n",
	})
	lb := startServe(t, filepath.Join(lbDir, "lbdns.yaml"))
	addr := lb.DNS
	_, lbPortText, _ := net.SplitHostPort(addr)
	lbPort, _ := strconv.Atoi(lbPortText)

	if got := xfrAsk(addr, "www.pri.test", dns.TypeA); !slices.Equal(got.RRs, []string{"A 127.0.0.41"}) {
		t.Fatalf("lbdns's own answer for www.pri.test with the origin healthy: %s\n%s", got, lb.logText())
	}
	metrics := xfrMetricsAddr(t, lb)
	// The served serial (the one transfers carry) is read from /readyz: see the SOA subtest
	// below for the serial in answers to SOA queries.
	servedSerial := func() uint32 {
		t.Helper()
		_, body, states := xfrReadyz(t, metrics)
		st := states["pri.test."]
		if st == nil || st["role"] != "primary" {
			t.Fatalf("/readyz has no primary state for pri.test:\n%s", body)
		}
		s, _ := st["serial"].(float64)
		return uint32(s)
	}
	serial1 := servedSerial()
	if serial1 < 100 {
		t.Fatalf("lbdns's served serial for pri.test: %d, want at least the file's 100", serial1)
	}

	for _, p := range peers {
		pdir := filepath.Join(dir, strings.ToLower(p.name))
		conf := p.conf(xfrtest.Conf{Port: p.port, Dir: pdir, Zone: "pri.test", Secret: xfrSecret, LBDNS: lbPort})
		writeFiles(t, pdir, map[string]string{"peer.conf": conf})
		confFile := filepath.Join(pdir, "peer.conf")
		if p.bin == "nsd" {
			xfrtest.Start(t, p.addr, "pri.test", false, p.log, "nsd", "-d", "-c", confFile)
		} else {
			xfrtest.Start(t, p.addr, "pri.test", false, "", "named", "-g", "-c", confFile)
		}
	}

	// Each secondary gets the zone with the load balancer's answer in it.
	for _, p := range peers {
		ok, seen := xfrWait(10*time.Second, func() string { return xfrAsk(p.addr, "www.pri.test", dns.TypeA).String() },
			func(s string) bool { return s == `NOERROR aa=true ["A 127.0.0.41"]` })
		if !ok {
			t.Fatalf("%s never served the LB's answer for www.pri.test (seen %v)\n%s", p.name, seen, lb.logText())
		}
		if s := xfrSerial(p.addr, "pri.test"); s != serial1 {
			t.Errorf("%s serves serial %d, lbdns %d", p.name, s, serial1)
		}
		for _, c := range []struct {
			name  string
			qtype uint16
			want  string
		}{{"other.pri.test", dns.TypeA, "A 192.0.2.50"}, {"www.pri.test", dns.TypeTXT, `TXT "zone data at www"`}} {
			if got := xfrAsk(p.addr, c.name, c.qtype); !slices.Equal(got.RRs, []string{c.want}) {
				t.Errorf("%s: %s %s = %s, want %q", p.name, c.name, dns.TypeToString[c.qtype], got, c.want)
			}
		}
	}

	// The origin fails its health check: lbdns answers from the backup pool...
	from := lb.logCount()
	origin.status.Store(http.StatusServiceUnavailable)
	flipped := time.Now()
	if ok, seen := xfrWait(10*time.Second, func() string { return xfrAsk(addr, "www.pri.test", dns.TypeA).String() },
		func(s string) bool { return s == `NOERROR aa=true ["A 127.0.0.42"]` }); !ok {
		t.Fatalf("lbdns never moved www.pri.test to the backup pool (seen %v)\n%s", seen, lb.logText())
	}
	var serial2 uint32
	if ok, seen := xfrWait(5*time.Second, func() string { serial2 = servedSerial(); return fmt.Sprint(serial2) },
		func(string) bool { return serial2 > serial1 }); !ok {
		t.Errorf("served serials after the snapshot change: %v", seen)
	}
	if !(serial2 > serial1) {
		t.Errorf("lbdns's serial after the snapshot change: %d, want above %d (ruling 39)", serial2, serial1)
	}
	// ...and each secondary follows after NOTIFY.
	for _, p := range peers {
		ok, seen := xfrWait(10*time.Second, func() string {
			return fmt.Sprintf("%s serial=%d", xfrAsk(p.addr, "www.pri.test", dns.TypeA), xfrSerial(p.addr, "pri.test"))
		}, func(s string) bool { return s == fmt.Sprintf(`NOERROR aa=true ["A 127.0.0.42"] serial=%d`, serial2) })
		if !ok {
			t.Errorf("%s did not follow the health change (want 127.0.0.42 at serial %d; seen %v)\n%s", p.name, serial2, seen, lb.logText())
			continue
		}
		t.Logf("%s serves the backup pool at serial %d, %s after the origin failed", p.name, serial2, time.Since(flipped).Round(10*time.Millisecond))
		if got := xfrAsk(p.addr, "other.pri.test", dns.TypeA); !slices.Equal(got.RRs, []string{"A 192.0.2.50"}) {
			t.Errorf("%s: other.pri.test A after the change = %s", p.name, got)
		}
	}
	if m := xfrFindLog(lb, from, "xfr: NOTIFY answered", nil); m == nil {
		t.Errorf("no NOTIFY answered after the change\n%s", lb.logText())
	}
	if m := xfrFindLog(lb, 0, "xfr: transfer out", func(m map[string]any) bool { return m["type"] == "IXFR" }); m == nil {
		t.Logf("note: no secondary used IXFR (AXFR each time)")
	}

	// An SOA query must give the serial that transfers carry: secondaries compare it with
	// their own at each refresh (RFC 1034 §4.3.5), and NSD/BIND only got the change above
	// because the NOTIFY carried the serial.
	t.Run("SOAQuerySerial", func(t *testing.T) {
		served := servedSerial()
		got := xfrSerial(addr, "pri.test")
		neg := query(t, "udp", addr, "nope.pri.test", dns.TypeA)
		var negSerial uint32
		for _, rr := range neg.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				negSerial = soa.Serial
			}
		}
		if got != served || negSerial != served {
			t.Errorf("SOA query serial %d, negative answer's SOA serial %d; transfers and NOTIFY carry the served serial %d "+
				"(ruling 39): a secondary polling the SOA at refresh would never see a change", got, negSerial, served)
		}
	})
}

// TestXfrRefusedE2E (case 4): lbdns as primary allows transfers to 127.0.0.1/32 with the TSIG
// key only. A signed AXFR from 127.0.0.1 works; without the key, with the wrong secret, or
// from 127.0.0.2 (outside allow_transfer) it is refused, over TCP and UDP, AXFR and IXFR.
func TestXfrRefusedE2E(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml": `server:
  listen: ["127.0.0.1:0"]
metrics:
  listen: "127.0.0.1:0"
data_dir: data
zones:
  - name: pri.test
    file: pri.test.zone
    allow_transfer: ["127.0.0.1/32"]
    tsig: { name: xfr-key, algorithm: hmac-sha256, secret_file: xfr.key }
  - name: open.test
    file: open.test.zone
pools:
  - name: web
    origins:
      - { name: web-1, address: 198.51.100.7 }
load_balancers:
  - { name: www.pri.test, default_pools: [web], fallback_pool: web, ttl: 30 }
`,
		"pri.test.zone":  xfrPrimaryZone,
		"open.test.zone": strings.ReplaceAll(xfrPrimaryZone, "pri.test.", "open.test."),
		"xfr.key":        xfrSecret + "\n",
	})
	lb := startServe(t, filepath.Join(dir, "lbdns.yaml"))
	addr := lb.TCP
	good := map[string]string{xfrKeyName: xfrSecret}
	bad := map[string]string{xfrKeyName: xfrOther}

	// The positive control: signed, from 127.0.0.1, the whole zone with the LB's answer.
	axfr := new(dns.Msg)
	axfr.SetAxfr("pri.test.")
	axfr.SetTsig(xfrKeyName, dns.HmacSHA256, 300, time.Now().Unix())
	tr := &dns.Transfer{TsigSecret: good}
	env, err := tr.In(axfr, addr)
	if err != nil {
		t.Fatalf("signed AXFR from 127.0.0.1: %v", err)
	}
	var rrs []string
	for e := range env {
		if e.Error != nil {
			t.Fatalf("signed AXFR from 127.0.0.1: %v\n%s", e.Error, lb.logText())
		}
		for _, rr := range e.RR {
			rrs = append(rrs, rr.String())
		}
	}
	if len(rrs) < 6 || !strings.Contains(strings.Join(rrs, "\n"), "198.51.100.7") || strings.Contains(strings.Join(rrs, "\n"), "192.0.2.99") {
		t.Errorf("signed AXFR from 127.0.0.1: want the zone with www's LB answer (198.51.100.7) instead of 192.0.2.99:\n%s", strings.Join(rrs, "\n"))
	}

	for _, c := range []struct {
		what   string
		netw   string
		local  string
		zone   string
		qtype  uint16
		secret map[string]string
		want   int
	}{
		{"AXFR unsigned from 127.0.0.1", "tcp", "127.0.0.1", "pri.test.", dns.TypeAXFR, nil, dns.RcodeRefused},
		{"IXFR unsigned from 127.0.0.1", "tcp", "127.0.0.1", "pri.test.", dns.TypeIXFR, nil, dns.RcodeRefused},
		{"IXFR unsigned over UDP from 127.0.0.1", "udp", "127.0.0.1", "pri.test.", dns.TypeIXFR, nil, dns.RcodeRefused},
		{"AXFR with the wrong secret from 127.0.0.1", "tcp", "127.0.0.1", "pri.test.", dns.TypeAXFR, bad, dns.RcodeNotAuth},
		{"AXFR signed from 127.0.0.2 (outside allow_transfer)", "tcp", "127.0.0.2", "pri.test.", dns.TypeAXFR, good, dns.RcodeRefused},
		{"IXFR signed from 127.0.0.2 (outside allow_transfer)", "tcp", "127.0.0.2", "pri.test.", dns.TypeIXFR, good, dns.RcodeRefused},
		{"AXFR unsigned from 127.0.0.2", "tcp", "127.0.0.2", "pri.test.", dns.TypeAXFR, nil, dns.RcodeRefused},
		{"AXFR of a zone without allow_transfer", "tcp", "127.0.0.1", "open.test.", dns.TypeAXFR, nil, dns.RcodeRefused},
	} {
		m := new(dns.Msg)
		if c.qtype == dns.TypeIXFR {
			m.SetIxfr(c.zone, 99, "ns1."+c.zone, "hostmaster."+c.zone)
		} else {
			m.SetAxfr(c.zone)
		}
		if c.secret != nil {
			m.SetTsig(xfrKeyName, dns.HmacSHA256, 300, time.Now().Unix())
		}
		r := xfrExchangeFrom(t, c.netw, c.local, addr, m, c.secret)
		if r == nil {
			t.Errorf("%s: no reply, want %s", c.what, dns.RcodeToString[c.want])
			continue
		}
		if r.Rcode != c.want || len(r.Answer) != 0 {
			t.Errorf("%s: %s with %d answer records, want %s and none", c.what, dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[c.want])
		}
	}
	if xfrFindLog(lb, 0, "xfr: transfer refused: client not in allow_transfer", nil) == nil {
		t.Errorf("no refusal for the address logged\n%s", lb.logText())
	}
	if xfrFindLog(lb, 0, "xfr: transfer refused: TSIG", nil) == nil {
		t.Errorf("no refusal for TSIG logged\n%s", lb.logText())
	}
	// Ordinary queries from 127.0.0.2 are answered as usual.
	q := new(dns.Msg)
	q.SetQuestion("other.pri.test.", dns.TypeA)
	if r := xfrExchangeFrom(t, "udp", "127.0.0.2", lb.DNS, q, nil); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("a plain query from 127.0.0.2: %v", r)
	}
}

// TestXfrReadyzNotLoadedE2E (case 5, before any transfer): a secondary zone whose primary
// does not answer makes /readyz 503 with the zone named and its state (loaded false, the last
// error), and the zone answers SERVFAIL; a file zone beside it is served.
func TestXfrReadyzNotLoadedE2E(t *testing.T) {
	t.Parallel()
	deadPort := xfrtest.FreePort(t) // nothing listens there
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml": fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
metrics:
  listen: "127.0.0.1:0"
data_dir: data
zones:
  - name: never.test
    primaries: ["127.0.0.1:%d"]
  - name: pri.test
    file: pri.test.zone
`, deadPort),
		"pri.test.zone": xfrPrimaryZone,
	})
	lb := startServe(t, filepath.Join(dir, "lbdns.yaml"))
	metrics := xfrMetricsAddr(t, lb)
	var code int
	var body string
	var st map[string]any
	ok, _ := xfrWait(5*time.Second, func() string {
		var states map[string]map[string]any
		code, body, states = xfrReadyz(t, metrics)
		st = states["never.test."]
		return body
	}, func(string) bool { return st != nil && st["last_error"] != nil })
	if !ok || code != http.StatusServiceUnavailable || !strings.Contains(body, "never.test") ||
		st["role"] != "secondary" || st["loaded"] != false || !strings.Contains(fmt.Sprint(st["primaries"]), fmt.Sprint(deadPort)) {
		t.Errorf("/readyz with a secondary zone never transferred: %d\n%s", code, body)
	}
	if got := xfrAsk(lb.DNS, "never.test", dns.TypeSOA); got.Rcode != "SERVFAIL" {
		t.Errorf("SOA of a secondary zone never transferred: %s, want SERVFAIL", got)
	}
	if got := xfrAsk(lb.DNS, "other.pri.test", dns.TypeA); !slices.Equal(got.RRs, []string{"A 192.0.2.50"}) {
		t.Errorf("a file zone beside it: %s", got)
	}
}
