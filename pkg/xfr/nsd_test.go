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

	"github.com/miekg/dns"
	"net/netip"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/xfr/xfrtest"
)

// TestNSDSecondary: NSD is a secondary of a Manager. It AXFRs the zone (with the load
// balancers' snapshot answers), then a health change moves www's snapshot answer: the serial
// moves, NOTIFY goes to NSD, NSD fetches an IXFR and serves the new address.
func TestNSDSecondary(t *testing.T) {
	if _, err := exec.LookPath("nsd"); err != nil {
		t.Skip("nsd not installed (apt-get install nsd): skipping the NSD interop test")
	}
	dir := t.TempDir()
	port := xfrtest.FreePort(t)
	nsdAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	prim, err := New(Options{Log: testLog(t), DataDir: filepath.Join(dir, "data"),
		Zones: []config.Zone{{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}, TSIG: testTSIG(),
			AlsoNotify: []string{nsdAddr.String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, prim.Handle, outSOA(prim), true)
	z := mustZone(t, lbZone)
	set := testSet(t)
	h := downHealth{set: set, down: map[string]bool{}}
	prim.Publish(testZoneFQDN, Outgoing(z, set, h))
	runManager(t, prim)

	conf := xfrtest.Conf{Port: port, Dir: dir, Zone: testZoneName, Secret: testSecret, LBDNS: int(srv.addr.Port())}.NSD()
	confFile := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	xfrtest.Start(t, nsdAddr.String(), testZoneFQDN, true, filepath.Join(dir, "nsd.log"), "nsd", "-d", "-c", confFile)

	ask := func(name string, qtype uint16) []string {
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, nsdAddr.String())
		if err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, rr := range r.Answer {
			f := strings.Fields(rr.String())
			out = append(out, strings.Join(f[3:], " "))
		}
		sort.Strings(out)
		return out
	}
	if got := ask("www.example.test.", dns.TypeA); !slices.Equal(got, []string{"A 198.51.100.1", "A 198.51.100.2"}) {
		t.Errorf("NSD's www A after AXFR: %q", got)
	}
	if got := ask("off.example.test.", dns.TypeA); !slices.Equal(got, []string{"A 192.0.2.20"}) {
		t.Errorf("NSD's off A (disabled LB): %q", got)
	}

	// The primary pool goes down: www's snapshot answer moves to the backup pool.
	h.down["primary"] = true
	prim.Publish(testZoneFQDN, Outgoing(z, set, h))
	if s := outSOA(prim)(testZoneFQDN).Serial; s != 11 {
		t.Fatalf("serial after the health change: %d, want 11", s)
	}
	deadline := time.Now().Add(15 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = ask("www.example.test.", dns.TypeA); slices.Equal(got, []string{"A 203.0.113.1"}) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Equal(got, []string{"A 203.0.113.1"}) {
		t.Fatalf("NSD's www A after the health change: %q", got)
	}
	if got := ask(testZoneFQDN, dns.TypeSOA); len(got) != 1 || !strings.Contains(got[0], " 11 ") {
		t.Errorf("NSD's SOA: %q", got)
	}
	if n := counter(t, prim, testZoneFQDN, "out", "ixfr", "success"); n < 1 {
		t.Errorf("IXFR out: %v, want NSD to have used IXFR", n)
	}
	if n := counter(t, prim, testZoneFQDN, "out", "axfr", "success"); n != 1 {
		t.Errorf("AXFR out: %v, want 1", n)
	}
}
