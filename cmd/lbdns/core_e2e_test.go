package main

import (
	"errors"
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
)

const coreZone = `$ORIGIN example.test.
$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 86400 60
@       IN NS  ns1
ns1     IN A   127.0.0.1
www     IN A   192.0.2.1
www     IN AAAA 2001:db8::1
alias   IN CNAME www
`

const coreConfig = `server:
  listen: ["127.0.0.1:0"]
metrics:
  listen: "127.0.0.1:0"
zones:
  - name: example.test
    file: example.test.zone
`

func TestVersion(t *testing.T) {
	out, err := exec.Command(binPath, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "lbdns ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

func TestCheckValidAndInvalid(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"ok.yaml":           coreConfig,
		"example.test.zone": coreZone,
		"bad.yaml": coreConfig + `pools:
  - name: p
    origins:
      - { name: o, address: 192.0.2.1, weight: 2.5 }
load_balancers:
  - name: lb.elsewhere.test
    default_pools: [nope]
`,
		"badzone.yaml": strings.Replace(coreConfig, "example.test.zone", "broken.zone", 1),
		"broken.zone":  "$ORIGIN example.test.\n@ IN SOA ns1 hostmaster 1 2 3 4 5\nwww IN A not-an-ip\n",
		// Errors in the config and in a zone file at once (ruling 41: every problem), and a
		// missing zone file reported once.
		"both.yaml": strings.Replace(coreConfig, "example.test.zone", "broken.zone", 1) + `  - name: other.test
    file: missing.zone
pools:
  - name: p
    origins:
      - { name: o, address: 192.0.2.1, weight: 2.5 }
`,
		// A GeoIP file that is not an MMDB: the field and its line. A pool name two pools share:
		// ambiguous, reported once.
		"junk.mmdb": "not a database\n",
		"geo.yaml":  coreConfig + "geoip:\n  city: [junk.mmdb]\n",
		"dup.yaml": coreConfig + `pools:
  - { id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, name: dup, origins: [{ name: a, address: 192.0.2.1 }] }
  - { id: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, name: dup, origins: [{ name: a, address: 192.0.2.2 }] }
load_balancers:
  - { name: www.example.test, default_pools: [dup] }
`,
		// A load balancer in a secondary zone (no data until transferred) is valid.
		"secondary.yaml": coreConfig + `  - name: sec.test
    primaries: ["127.0.0.1:1"]
pools:
  - name: p
    origins: [{ name: o, address: 192.0.2.1 }]
load_balancers:
  - name: www.sec.test
    default_pools: [p]
`,
	})
	run := func(cfg string) (int, string) {
		code, _, stderr := runCheck(t, filepath.Join(dir, cfg))
		return code, stderr
	}
	if code, out := run("ok.yaml"); code != 0 {
		t.Fatalf("ok.yaml: exit %d\n%s", code, out)
	}
	code, out := run("bad.yaml")
	if code != 1 {
		t.Fatalf("bad.yaml: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"pools[0].origins[0].weight", "load_balancers[0]"} {
		if !strings.Contains(out, want) {
			t.Errorf("bad.yaml: output lacks %q:\n%s", want, out)
		}
	}
	code, out = run("badzone.yaml")
	if code != 1 || !strings.Contains(out, "broken.zone:3") {
		t.Errorf("badzone.yaml: exit %d, want 1 and broken.zone:3 in\n%s", code, out)
	}
	if code, out := run("secondary.yaml"); code != 0 {
		t.Errorf("secondary.yaml (an LB in a secondary zone): exit %d, want 0\n%s", code, out)
	}
	if code, out := run("geo.yaml"); code != 1 || !strings.Contains(out, "geo.yaml:9: geoip.city[0]: ") || strings.Count(out, "\n") != 1 {
		t.Errorf("geo.yaml: exit %d, want 1 and one line \"geo.yaml:9: geoip.city[0]: …\"\n%s", code, out)
	}
	if code, out := run("dup.yaml"); code != 1 || !strings.Contains(out, "shared by several pools") || strings.Contains(out, "unknown pool") {
		t.Errorf("dup.yaml: exit %d, want 1 and the ambiguity alone\n%s", code, out)
	}
	code, out = run("both.yaml")
	if code != 1 || !strings.Contains(out, "broken.zone:3") || !strings.Contains(out, "pools[0].origins[0].weight") ||
		strings.Count(out, "missing.zone") != 1 {
		t.Errorf("both.yaml: exit %d, want 1, the zone file's line, the weight, and missing.zone once, in\n%s", code, out)
	}
}

func TestServeStaticAndSignals(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"lbdns.yaml": coreConfig, "example.test.zone": coreZone})
	p := startServe(t, filepath.Join(dir, "lbdns.yaml"))
	for _, netw := range []string{"udp", "tcp"} {
		addr := p.DNS
		if netw == "tcp" {
			addr = p.TCP
		}
		r := query(t, netw, addr, "www.example.test", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
			t.Fatalf("%s: %v", netw, r)
		}
		r = query(t, netw, addr, "nope.example.test", dns.TypeA)
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
			t.Fatalf("%s nxdomain: %v", netw, r)
		}
		r = query(t, netw, addr, "www.elsewhere.test", dns.TypeA)
		if r.Rcode != dns.RcodeRefused {
			t.Fatalf("%s outside: %v", netw, r)
		}
	}
	// A broken zone on SIGHUP keeps the old data and logs why.
	os.WriteFile(filepath.Join(dir, "example.test.zone"), []byte(coreZone+"bad IN A x\n"), 0o644)
	n := p.logCount()
	p.signal(syscall.SIGHUP)
	p.waitLog("reload failed; keeping the running configuration", n, 5*time.Second)
	if r := query(t, "udp", p.DNS, "www.example.test", dns.TypeA); len(r.Answer) != 1 {
		t.Fatalf("after failed reload: %v", r)
	}
	// A good zone on SIGHUP is served.
	os.WriteFile(filepath.Join(dir, "example.test.zone"), []byte(coreZone+"new IN A 192.0.2.9\n"), 0o644)
	n = p.logCount()
	p.signal(syscall.SIGHUP)
	p.waitLog("reloaded", n, 5*time.Second)
	if r := query(t, "udp", p.DNS, "new.example.test", dns.TypeA); len(r.Answer) != 1 {
		t.Fatalf("after reload: %v", r)
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v", p.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func TestServeRefusesBrokenConfigBeforeBinding(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml":        strings.Replace(coreConfig, "127.0.0.1:0", "127.0.0.1:5399", 1) + "bogus: 1\n",
		"example.test.zone": coreZone,
	})
	cmd := exec.Command(binPath, "serve", "--config", filepath.Join(dir, "lbdns.yaml"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("serve with an unknown key: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "bogus") {
		t.Errorf("error does not name the key:\n%s", out)
	}
}

func TestEnvOverrideListen(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml":        strings.Replace(coreConfig, `["127.0.0.1:0"]`, `["127.0.0.1:1"]`, 1),
		"example.test.zone": coreZone,
	})
	p := startServe(t, filepath.Join(dir, "lbdns.yaml"), "LBDNS_SERVER_LISTEN=127.0.0.1:0")
	if r := query(t, "udp", p.DNS, "www.example.test", dns.TypeA); len(r.Answer) != 1 {
		t.Fatalf("%v", r)
	}
}

// TestReloadUnderLoad: a client queries continuously while the server is reloaded 20 times;
// every query must get a correct answer.
func TestReloadUnderLoad(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"lbdns.yaml": coreConfig, "example.test.zone": coreZone})
	p := startServe(t, filepath.Join(dir, "lbdns.yaml"))
	var sent, bad atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			m := new(dns.Msg)
			m.SetQuestion("www.example.test.", dns.TypeA)
			for i := 0; i < 200000; i++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				r, _, err := c.Exchange(m, p.DNS)
				sent.Add(1)
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
					bad.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		n := p.logCount()
		serial := 2 + i
		os.WriteFile(filepath.Join(dir, "example.test.zone"),
			[]byte(strings.Replace(coreZone, "hostmaster 1 ", "hostmaster "+strconv.Itoa(serial)+" ", 1)), 0o644)
		p.signal(syscall.SIGHUP)
		p.waitLog("reloaded", n, 5*time.Second)
	}
	close(stop)
	wg.Wait()
	if sent.Load() < 100 || bad.Load() != 0 {
		t.Fatalf("sent %d queries, %d failed or wrong", sent.Load(), bad.Load())
	}
	t.Logf("%d queries across 20 reloads, 0 failed", sent.Load())
}
