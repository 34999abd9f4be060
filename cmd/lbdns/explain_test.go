package main

// Tests of `lbdns explain` against golden files in testdata/ (regenerate with -update and
// review the diff).

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/geo/geotest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of cmd/lbdns/testdata")

const exZone = `$ORIGIN ex.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   127.0.0.1
geo  IN TXT "zone data beside the load balancer"
`

// exConfig: %[1]s is the GeoIP database.
const exConfig = `server:
  listen: ["127.0.0.1:0"]
  pop: { code: LHR, region: WEU, country: GB, latitude: 51.47, longitude: -0.45 }
geoip:
  city: %[1]s
zones:
  - name: ex.test
    file: ex.test.zone
monitors:
  - { name: web, type: http, path: /health, port: 8080, interval: 5, timeout: 1, retries: 0 }
pools:
  - { name: us, latitude: 37.4, longitude: -122.1, origins: [ { name: us-1, address: 198.51.100.1 } ] }
  - name: eu
    monitor: web
    latitude: 50.1
    longitude: 8.7
    origins:
      - { name: eu-1, address: 198.51.100.2 }
      - { name: eu-2, address: 198.51.100.12 }
      - { name: eu-1-v6, address: "2001:db8::2" }
  - { name: asia, origins: [ { name: asia-1, address: 198.51.100.3 } ] }
  - name: primary
    monitor: web
    origins:
      - { name: p1, address: 127.0.0.31 }
      - { name: p2, address: 127.0.0.32 }
  - name: secondary
    monitor: web
    origins:
      - { name: s1, address: 127.0.0.33, weight: 0.4 }
      - { name: s2, address: 127.0.0.34, weight: 0.6 }
load_balancers:
  - name: geo.ex.test
    steering_policy: geo
    location_strategy: { prefer_ecs: always, mode: resolver_ip }
    country_pools: { FR: [eu, us] }
    region_pools: { WNAM: [us], WEU: [eu, us], NEAS: [asia] }
    default_pools: [us]
    fallback_pool: asia
  - name: failover.ex.test
    steering_policy: "off"
    ttl: 60
    default_pools: [primary, secondary]
    fallback_pool: secondary
`

// exHealth marks the primary pool's origins unhealthy (format of pkg/app/explain.go).
const exHealth = `{"pools": {"primary": {"origins": {"p1": "unhealthy", "127.0.0.32": "unhealthy"}}, "eu": {"origins": {"eu-2": "unhealthy"}, "rtt_ms": 12.5}}}`

// runExplain runs `lbdns explain` with args and returns stdout with the temporary paths
// replaced by $DIR and $GEOIP, and the GeoIP build date (the day the test database was
// written) by $BUILT.
func runExplain(t *testing.T, dir, geoip string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"explain"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("explain %v: %v\nstderr:\n%s\nstdout:\n%s", args, err, stderr.String(), stdout.String())
	}
	out := stdout.String()
	out = strings.ReplaceAll(out, geoip, "$GEOIP")
	out = strings.ReplaceAll(out, filepath.Dir(geoip), "$GEOIPDIR")
	out = strings.ReplaceAll(out, dir, "$DIR")
	out = regexp.MustCompile(`built \d{4}-\d\d-\d\d`).ReplaceAllString(out, "built $$BUILT")
	return out
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("explain output differs from %s (run with -update and review the diff)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func writeExplainFiles(t *testing.T) (dir, cfg, geoip string) {
	t.Helper()
	dir = t.TempDir()
	geoip = geotest.Default(t)
	writeFiles(t, dir, map[string]string{
		"lbdns.yaml":   fmt.Sprintf(exConfig, geoip),
		"ex.test.zone": exZone,
		"health.json":  exHealth,
	})
	return dir, filepath.Join(dir, "lbdns.yaml"), geoip
}

// TestExplainGeo: the ECS location (FR) decides; the golden file shows the location source,
// the area, the pool order with health, the origin choice, the ECS scope and the answer.
func TestExplainGeo(t *testing.T) {
	dir, cfg, geoip := writeExplainFiles(t)
	out := runExplain(t, dir, geoip, "--config", cfg, "geo.ex.test", "A", "--client", "127.0.0.1", "--ecs", "192.0.2.0/24")
	for _, want := range []string{"country_pools[FR]", "ECS scope: /24", "198.51.100.2", "198.51.100.12"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	checkGolden(t, "explain_geo.golden", out)

	// With --health, eu-2 is down: only eu-1 answers; the RTT is shown for dynamic steering.
	out = runExplain(t, dir, geoip, "--config", cfg, "--health", filepath.Join(dir, "health.json"), "--seed", "7",
		"geo.ex.test", "A", "--client", "127.0.2.1", "--ecs", "2001:db8:1::/48")
	if strings.Contains(out, "A\t198.51.100.12") || !strings.Contains(out, "198.51.100.2") {
		t.Errorf("eu-2 is unhealthy, eu-1 should answer alone:\n%s", out)
	}
	checkGolden(t, "explain_geo_health.golden", out)

	// No ECS: the resolver (JP) decides; AAAA of a v4-only pool falls back (ruling 3, 6).
	out = runExplain(t, dir, geoip, "--config", cfg, "geo.ex.test", "AAAA", "--client", "127.0.4.1")
	checkGolden(t, "explain_geo_aaaa.golden", out)

	// TXT at the LB name comes from the zone.
	out = runExplain(t, dir, geoip, "--config", cfg, "geo.ex.test", "TXT", "--client", "127.0.4.1")
	if !strings.Contains(out, "zone data beside the load balancer") || !strings.Contains(out, "zone data answers") {
		t.Errorf("TXT at the LB name:\n%s", out)
	}
}

// TestExplainFailover: --health marks the primary's origins unhealthy; the secondary answers
// with one origin drawn by weight with the given seed.
func TestExplainFailover(t *testing.T) {
	dir, cfg, geoip := writeExplainFiles(t)
	out := runExplain(t, dir, geoip, "--config", cfg, "--health", filepath.Join(dir, "health.json"), "--seed", "3",
		"failover.ex.test", "A", "--client", "127.0.0.1")
	if strings.Contains(out, "127.0.0.31") && strings.Contains(out, "IN\tA\t127.0.0.31") {
		t.Errorf("the unhealthy primary answered:\n%s", out)
	}
	if !regexp.MustCompile(`failover\.ex\.test\.\s+60\s+IN\s+A\s+127\.0\.0\.3[34]`).MatchString(out) {
		t.Errorf("the answer is not one secondary origin with TTL 60:\n%s", out)
	}
	checkGolden(t, "explain_failover.golden", out)
	// The same seed gives the same output; without --health the primary answers.
	if again := runExplain(t, dir, geoip, "--config", cfg, "--health", filepath.Join(dir, "health.json"), "--seed", "3",
		"failover.ex.test", "A", "--client", "127.0.0.1"); again != out {
		t.Errorf("explain with the same seed differs:\n%s\n---\n%s", out, again)
	}
	out = runExplain(t, dir, geoip, "--config", cfg, "failover.ex.test", "A", "--client", "127.0.0.1")
	if !regexp.MustCompile(`IN\s+A\s+127\.0\.0\.31`).MatchString(out) || !regexp.MustCompile(`IN\s+A\s+127\.0\.0\.32`).MatchString(out) {
		t.Errorf("without --health every origin is healthy, the primary answers:\n%s", out)
	}
}

// TestExplainErrors: bad arguments exit 1 with a message on stderr.
func TestExplainErrors(t *testing.T) {
	dir, cfg, _ := writeExplainFiles(t)
	writeFiles(t, dir, map[string]string{"bad-health.json": `{"pools": {"nope": {}}}`})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", cfg, "geo.ex.test", "--client", "not-an-ip"}, "--client"},
		{[]string{"--config", cfg, "geo.ex.test", "--client", "127.0.0.1", "--ecs", "192.0.2.0"}, "--ecs"},
		{[]string{"--config", cfg, "geo.ex.test", "BOGUS", "--client", "127.0.0.1"}, "BOGUS"},
		{[]string{"--config", cfg, "--health", filepath.Join(dir, "bad-health.json"), "geo.ex.test", "--client", "127.0.0.1"}, "nope"},
	} {
		code, _, stderr := runLBDNS(t, nil, append([]string{"explain"}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("explain %v: exit %d, stderr %q; want exit 1 naming %q", c.args, code, stderr, c.want)
		}
	}
}

// TestExplainMatchesServe: for answers that do not depend on randomness, explain and a
// running server agree (they run the same decision; hashing must not depend on the process).
// Without --health, explain reads the health state serve saves in data_dir (default "data"
// beside the config), so the down pools of fb.lb.test are down for both.
func TestExplainMatchesServe(t *testing.T) {
	p, cfg := startLBServeCfg(t)
	state := filepath.Join(filepath.Dir(cfg), "data", "health.json")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(state); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve saved no health state in %s within 5 s", state)
		}
	}
	answerRe := regexp.MustCompile(`(?m)^(\S+)\s+\d+\s+IN\s+(A|AAAA|CNAME)\s+(\S+)$`)
	scopeRe := regexp.MustCompile(`ECS scope /(\d+)\n`)
	cases := []struct{ name, qtype, client, ecs string }{
		{"geo.lb.test", "A", "127.0.0.1", "192.0.2.0/24"},
		{"geo.lb.test", "A", "127.0.4.1", ""},
		{"geo.lb.test", "AAAA", "127.0.0.1", "127.0.9.0/24"},
		{"prox.lb.test", "A", "127.0.0.1", "127.0.4.0/24"},
		{"failover.lb.test", "A", "127.0.0.1", ""},
		{"fb.lb.test", "A", "127.0.0.1", ""},
		{"min.lb.test", "A", "127.0.0.1", ""},
		{"cname.lb.test", "A", "127.0.0.1", ""},
	}
	for i := 0; i < 12; i++ {
		ecs := fmt.Sprintf("10.%d.%d.0/24", i, i*53%256)
		cases = append(cases, struct{ name, qtype, client, ecs string }{"hash.lb.test", "A", "127.0.0.1", ecs})
		cases = append(cases, struct{ name, qtype, client, ecs string }{"cookie.lb.test", "A", "127.0.0.1", ecs})
	}
	cases = append(cases, struct{ name, qtype, client, ecs string }{"hash.lb.test", "A", "127.0.3.7", ""})
	for _, c := range cases {
		args := []string{"explain", "--config", cfg, c.name, c.qtype, "--client", c.client}
		if c.ecs != "" {
			args = append(args, "--ecs", c.ecs)
		}
		out, err := exec.Command(binPath, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("explain %v: %v\n%s", args, err, out)
		}
		var want []string
		for _, m := range answerRe.FindAllStringSubmatch(string(out), -1) {
			want = append(want, m[2]+" "+m[3])
		}
		sort.Strings(want)
		var opts []func(*dns.Msg)
		if c.ecs != "" {
			opts = append(opts, lbWithECS(c.ecs))
		}
		src := c.client
		if src == "127.0.0.1" {
			src = ""
		}
		r := lbQueryFrom(t, "udp", p.DNS, src, c.name, dns.StringToType[c.qtype], opts...)
		if got := lbRdata(r.Answer); got != strings.Join(want, " | ") {
			t.Errorf("%s %s client %s ecs %q: serve answers %q, explain %q\n%s", c.name, c.qtype, c.client, c.ecs, got, strings.Join(want, " | "), out)
		}
		if c.ecs != "" {
			m := scopeRe.FindStringSubmatch(string(out))
			if m == nil {
				t.Errorf("explain with --ecs prints no scope:\n%s", out)
			} else if s := lbCheckECSEcho(t, r, c.ecs); fmt.Sprint(s) != m[1] {
				t.Errorf("%s %s ecs %s: serve scope /%d, explain /%s", c.name, c.qtype, c.ecs, s, m[1])
			}
		}
	}
}
