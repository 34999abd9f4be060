package xfr

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"net/netip"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/steer"
	"github.com/lbdns/lbdns/pkg/xfr/xfrtest"
	"github.com/lbdns/lbdns/pkg/zone"
)

// The example configurations of README "Running beside your existing DNS" (docs/examples) are checked here: they load,
// and the peer configurations work with lbdns's transfers (ports and paths moved to the test's
// own).
const examples = "../../docs/examples"

func loadExample(t *testing.T, name string) *config.Config {
	t.Helper()
	cfg, ps := config.Load(filepath.Join(examples, name))
	if cfg == nil || ps.HasErrors() {
		t.Fatalf("%s: %v", name, ps)
	}
	for _, p := range ps {
		t.Errorf("%s: warning %s", name, p)
	}
	if _, err := New(Options{Log: testLog(t), Zones: cfg.Zones}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, zc := range cfg.Zones {
		if zc.File != "" {
			if _, err := zone.Load(zc.Name, zc.File); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	return cfg
}

func TestExamplesLoad(t *testing.T) {
	for _, name := range []string{"secondary.yaml", "primary-for-secondaries.yaml", "delegation.yaml"} {
		t.Run(name, func(t *testing.T) { loadExample(t, name) })
	}
}

// peerConf writes an example peer configuration with its addresses and paths replaced.
func peerConf(t *testing.T, name, dir string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examples, name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(append(repl, "/tmp/lbdns-example", dir)...).Replace(string(b))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func portOf(ap netip.AddrPort) string { return itoa(uint32(ap.Port())) }

// TestExampleSecondary: secondary.yaml against knot-primary.conf.
func TestExampleSecondary(t *testing.T) {
	if _, err := exec.LookPath("knotd"); err != nil {
		t.Skip("knotd not installed (apt-get install knot): skipping")
	}
	cfg := loadExample(t, "secondary.yaml")
	dir := t.TempDir()
	knotAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(xfrtest.FreePort(t)))
	cfg.Zones[0].Primaries = []string{knotAddr.String()}
	events := make(secondaryEvents, 16)
	sec, err := New(Options{Log: testLog(t), DataDir: filepath.Join(dir, "data"), OnSecondary: events.on, Zones: cfg.Zones})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, sec.Handle, nil, true)
	os.MkdirAll(filepath.Join(dir, "knot"), 0o755)
	zf, _ := os.ReadFile(filepath.Join(examples, "zones/corp.example.zone"))
	os.WriteFile(filepath.Join(dir, "knot/corp.example.zone"), zf, 0o644)
	conf := peerConf(t, "knot-primary.conf", dir, "127.0.0.1@5301", "127.0.0.1@"+portOf(knotAddr), "127.0.0.1@5353", "127.0.0.1@"+portOf(srv.addr))
	xfrtest.Start(t, knotAddr.String(), "corp.example.", true, "", "knotd", "-c", conf)
	runManager(t, sec)
	z := events.waitSerial(t, 2026112301)
	if a := lookupA(z, "intra.corp.example."); !slices.Equal(a, []string{"192.0.2.81"}) {
		t.Errorf("intra: %v", a)
	}
}

// TestExamplePrimary: primary-for-secondaries.yaml with nsd-secondary.conf and
// bind-secondary.conf: both copy the zone with the load balancer's answer, and follow it when
// the main pool goes down.
func TestExamplePrimary(t *testing.T) {
	_, errNSD := exec.LookPath("nsd")
	_, errBIND := exec.LookPath("named")
	if errNSD != nil && errBIND != nil {
		t.Skip("neither nsd nor named installed: skipping")
	}
	cfg := loadExample(t, "primary-for-secondaries.yaml")
	dir := t.TempDir()
	nsdAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(xfrtest.FreePort(t)))
	bindAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(xfrtest.FreePort(t)))
	cfg.Zones[0].AlsoNotify = []string{nsdAddr.String(), bindAddr.String()}
	prim, err := New(Options{Log: testLog(t), DataDir: filepath.Join(dir, "data"), Zones: cfg.Zones})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, prim.Handle, outSOA(prim), true)
	set, err := steer.Compile(cfg.Catalog(), steer.Options{PoP: cfg.Server.PoP})
	if err != nil {
		t.Fatal(err)
	}
	z, err := zone.Load(cfg.Zones[0].Name, cfg.Zones[0].File)
	if err != nil {
		t.Fatal(err)
	}
	prim.Publish(z.Origin(), Outgoing(z, set, downHealth{set: set}))
	runManager(t, prim)

	var peers []netip.AddrPort
	if errNSD == nil {
		os.MkdirAll(filepath.Join(dir, "nsd"), 0o755)
		conf := peerConf(t, "nsd-secondary.conf", dir, "127.0.0.1@5302", "127.0.0.1@"+portOf(nsdAddr), "127.0.0.1@5353", "127.0.0.1@"+portOf(srv.addr))
		xfrtest.Start(t, nsdAddr.String(), "lb.example.com.", true, "", "nsd", "-d", "-c", conf)
		peers = append(peers, nsdAddr)
	}
	if errBIND == nil {
		os.MkdirAll(filepath.Join(dir, "bind"), 0o755)
		conf := peerConf(t, "bind-secondary.conf", dir, "port 5303", "port "+portOf(bindAddr), "port 5353", "port "+portOf(srv.addr))
		xfrtest.Start(t, bindAddr.String(), "lb.example.com.", true, "", "named", "-g", "-c", conf)
		peers = append(peers, bindAddr)
	}
	ask := func(peer netip.AddrPort, name string, qtype uint16) []string {
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, peer.String())
		if err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, rr := range r.Answer {
			out = append(out, strings.Join(strings.Fields(rr.String())[1:], " "))
		}
		sort.Strings(out)
		return out
	}
	for _, p := range peers {
		if got := ask(p, "www.lb.example.com.", dns.TypeA); !slices.Equal(got, []string{"30 IN A 203.0.113.10"}) {
			t.Errorf("%s: www A %q, want the load balancer's 203.0.113.10", p, got)
		}
		if got := ask(p, "api.lb.example.com.", dns.TypeA); !slices.Equal(got, []string{"3600 IN A 192.0.2.20"}) {
			t.Errorf("%s: api A %q", p, got)
		}
	}
	// The operator disables pool main (enabled: false in the file, then SIGHUP): the snapshot
	// answer moves to the backup pool.
	cat := cfg.Catalog()
	for i := range cat.Pools {
		if cat.Pools[i].Name == "main" {
			cat.Pools[i].Enabled = new(bool)
		}
	}
	if set, err = steer.Compile(cat, steer.Options{PoP: cfg.Server.PoP}); err != nil {
		t.Fatal(err)
	}
	prim.Publish(z.Origin(), Outgoing(z, set, downHealth{set: set}))
	for _, p := range peers {
		var got []string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = ask(p, "www.lb.example.com.", dns.TypeA); slices.Equal(got, []string{"30 IN A 203.0.113.20"}) {
				break
			}
		}
		if !slices.Equal(got, []string{"30 IN A 203.0.113.20"}) {
			t.Errorf("%s: www A after main was disabled: %q", p, got)
		}
	}
}
