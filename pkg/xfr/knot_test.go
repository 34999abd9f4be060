package xfr

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/xfr/xfrtest"
	"github.com/lbdns/lbdns/pkg/zone"
)

// TestKnotPrimary: Knot is the primary, a Manager the secondary: AXFR with TSIG at start, then
// a change at Knot (zone file edit + reload), NOTIFY from Knot, IXFR applied.
func TestKnotPrimary(t *testing.T) {
	if _, err := exec.LookPath("knotd"); err != nil {
		t.Skip("knotd not installed (apt-get install knot): skipping the Knot interop test")
	}
	dir := t.TempDir()
	port := xfrtest.FreePort(t)
	knotAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	events := make(secondaryEvents, 16)
	sec, err := New(Options{Log: testLog(t), DataDir: filepath.Join(dir, "data"), OnSecondary: events.on,
		Zones: []config.Zone{{Name: testZoneName, Primaries: []string{knotAddr.String()}, TSIG: testTSIG()}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, sec.Handle, nil, true)

	// Big enough for several messages per transfer: Knot signs each, chained on the last MAC.
	var bulk strings.Builder
	for i := range 3000 {
		bulk.WriteString("bulk" + itoa(uint32(i)) + " IN TXT \"record " + itoa(uint32(i)) + "\"\n")
	}
	zoneV1 := strings.Replace(testZoneV1, " 10 1 1 2 60", " 1 3600 600 86400 60", 1) + bulk.String()
	zoneFile := filepath.Join(dir, "example.test.zone")
	if err := os.WriteFile(zoneFile, []byte(zoneV1), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := xfrtest.Conf{Port: port, Dir: dir, Zone: testZoneName, Secret: testSecret, LBDNS: int(srv.addr.Port())}.Knot()
	confFile := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	xfrtest.Start(t, knotAddr.String(), testZoneFQDN, true, "", "knotd", "-c", confFile)

	runManager(t, sec)
	z := events.waitSerial(t, 1)
	if a := lookupA(z, "www.example.test."); !slices.Equal(a, []string{"192.0.2.10"}) {
		t.Errorf("www after AXFR: %v", a)
	}

	// Change the zone at Knot: www moves, a new name appears, serial 2.
	zoneV2 := strings.Replace(zoneV1, " 1 3600 600 86400 60", " 2 3600 600 86400 60", 1)
	zoneV2 = strings.Replace(zoneV2, "192.0.2.10", "192.0.2.11", 1) + "api  IN A   192.0.2.30\n"
	if err := os.WriteFile(zoneFile, []byte(zoneV2), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("knotc", "-c", confFile, "zone-reload", testZoneName).CombinedOutput(); err != nil {
		t.Fatalf("knotc zone-reload: %v: %s", err, out)
	}
	z = events.waitSerial(t, 2)
	if a := lookupA(z, "www.example.test."); !slices.Equal(a, []string{"192.0.2.11"}) {
		t.Errorf("www after IXFR: %v", a)
	}
	if a := lookupA(z, "api.example.test."); !slices.Equal(a, []string{"192.0.2.30"}) {
		t.Errorf("api after IXFR: %v", a)
	}
	if n := counter(t, sec, testZoneFQDN, "in", "ixfr", "success"); n != 1 {
		t.Errorf("IXFR successes: %v, want 1 (no fallback to AXFR)", n)
	}
	if n := counter(t, sec, testZoneFQDN, "in", "axfr", "success"); n != 1 {
		t.Errorf("AXFR successes: %v, want 1", n)
	}
	srv.mu.Lock()
	notified := slices.ContainsFunc(srv.seen, func(m *dns.Msg) bool { return m.Opcode == dns.OpcodeNotify })
	srv.mu.Unlock()
	if !notified {
		t.Error("Knot's NOTIFY never arrived")
	}

	// A load balancer on the transferred zone: its name is answered by the LB, the other
	// names by the transferred data (ruling 21).
	marked, err := z.WithMarks(map[string]int{"www.example.test.": 0})
	if err != nil {
		t.Fatal(err)
	}
	dyn := fixedLB{"198.51.100.7"}
	if res := marked.Lookup("www.example.test.", dns.TypeA, dyn); len(res.Answer) != 1 || res.Answer[0].(*dns.A).A.String() != "198.51.100.7" {
		t.Errorf("www with an LB: %v", res.Answer)
	}
	if res := marked.Lookup("api.example.test.", dns.TypeA, dyn); len(res.Answer) != 1 || res.Answer[0].(*dns.A).A.String() != "192.0.2.30" {
		t.Errorf("api beside an LB: %v", res.Answer)
	}
	// A disabled LB (owns nothing) falls back to the transferred record.
	if res := marked.Lookup("www.example.test.", dns.TypeA, fixedLB{}); len(res.Answer) != 1 || res.Answer[0].(*dns.A).A.String() != "192.0.2.11" {
		t.Errorf("www with a disabled LB: %v", res.Answer)
	}

	// The wrong key: Knot refuses, the refresh fails and says why.
	bad, err := New(Options{Log: testLog(t), OnSecondary: func(string, *zone.Zone) {},
		Zones: []config.Zone{{Name: testZoneName, Primaries: []string{knotAddr.String()},
			TSIG: &config.TSIG{Name: testKeyName, Algorithm: "hmac-sha256", Secret: otherSecret}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := bad.zone(testZoneFQDN)
	bad.refresh(t.Context(), s)
	if st := bad.Status()[0]; st.Loaded || !strings.Contains(st.LastError, "BADSIG") && !strings.Contains(st.LastError, "NOTAUTH") {
		t.Errorf("transfer with the wrong key: %+v", st)
	}
}

// fixedLB is a zone.Dynamic answering A with one address (none: a disabled LB).
type fixedLB struct{ addr string }

func (f fixedLB) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	if f.addr == "" || qtype != dns.TypeA {
		return dst, false
	}
	return append(dst, &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
		A: net.ParseIP(f.addr)}), true
}
