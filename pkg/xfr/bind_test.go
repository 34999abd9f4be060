package xfr

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/xfr/xfrtest"
	"github.com/lbdns/lbdns/pkg/zone"
)

// TestBINDSecondary: BIND is a secondary of a Manager: AXFR, then a published change, NOTIFY,
// IXFR.
func TestBINDSecondary(t *testing.T) {
	prim, bindAddr := bindPrimary(t)
	srv := startServer(t, prim.Handle, outSOA(prim), true)
	prim.Publish(testZoneFQDN, mustZone(t, testZoneV1).RRs())
	runManager(t, prim)
	checkBINDSecondary(t, prim, bindAddr, srv.addr.Port(), func(z *zone.Zone) { prim.Publish(testZoneFQDN, z.RRs()) })
}

// bindPrimary returns a Manager, primary of the test zone with TSIG for a BIND secondary on a
// free port (skipping the test without BIND), and that secondary's address.
func bindPrimary(t *testing.T) (*Manager, netip.AddrPort) {
	t.Helper()
	if _, err := exec.LookPath("named"); err != nil {
		t.Skip("named not installed (apt-get install bind9): skipping the BIND interop test")
	}
	bindAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(xfrtest.FreePort(t)))
	prim, err := New(Options{Log: testLog(t),
		Zones: []config.Zone{{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}, TSIG: testTSIG(),
			AlsoNotify: []string{bindAddr.String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	return prim, bindAddr
}

// checkBINDSecondary starts BIND at bindAddr as a secondary of lbdns on lbdnsPort, checks it
// serves www from the AXFR, calls publish with www changed, and checks BIND follows (NOTIFY,
// then IXFR).
func checkBINDSecondary(t *testing.T, prim *Manager, bindAddr netip.AddrPort, lbdnsPort uint16, publish func(*zone.Zone)) {
	t.Helper()
	dir := t.TempDir()
	conf := xfrtest.Conf{Port: int(bindAddr.Port()), Dir: dir, Zone: testZoneName, Secret: testSecret, LBDNS: int(lbdnsPort)}.BIND()
	confFile := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	xfrtest.Start(t, bindAddr.String(), testZoneFQDN, true, "", "named", "-g", "-c", confFile)
	ask := func(name string) []string {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, bindAddr.String())
		if err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, rr := range r.Answer {
			out = append(out, strings.Join(strings.Fields(rr.String())[3:], " "))
		}
		return out
	}
	if got := ask("www.example.test."); !slices.Equal(got, []string{"A 192.0.2.10"}) {
		t.Errorf("BIND's www after AXFR: %q", got)
	}
	publish(mustZone(t, strings.Replace(testZoneV1, "192.0.2.10", "192.0.2.11", 1)))
	var got []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = ask("www.example.test."); slices.Equal(got, []string{"A 192.0.2.11"}) {
			break
		}
	}
	if !slices.Equal(got, []string{"A 192.0.2.11"}) {
		t.Errorf("BIND's www after the change: %q", got)
	}
	if n := counter(t, prim, testZoneFQDN, "out", "ixfr", "success"); n < 1 {
		t.Errorf("IXFR out: %v, want BIND to have used IXFR", n)
	}
}
