package xfr

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/zone"
)

// TestSecondaryOfManager runs one Manager as the secondary of another: AXFR at start, then
// a change published on the primary, NOTIFY to the secondary, and an IXFR — all signed.
func TestSecondaryOfManager(t *testing.T) {
	// The secondary listens first: the primary needs its address for also_notify.
	events := make(secondaryEvents, 16)
	var secPtr atomic.Pointer[Manager]
	secSrv := startServer(t, func(w dns.ResponseWriter, r *dns.Msg) bool {
		if m := secPtr.Load(); m != nil {
			return m.Handle(w, r)
		}
		return false
	}, nil, true)

	prim, err := New(Options{Log: testLog(t).With().Str("side", "primary").Logger(),
		Zones: []config.Zone{{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}, TSIG: testTSIG(),
			AlsoNotify: []string{secSrv.addr.String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	primSrv := startServer(t, prim.Handle, outSOA(prim), true)
	prim.Publish(testZoneFQDN, mustZone(t, strings.Replace(testZoneV1, " 1 1 2 60", " 3600 600 86400 60", 1)).RRs())
	runManager(t, prim)

	dir := t.TempDir()
	sec, err := New(Options{Log: testLog(t).With().Str("side", "secondary").Logger(), DataDir: dir, OnSecondary: events.on,
		Zones: []config.Zone{{Name: testZoneName, Primaries: []string{primSrv.addr.String()}, TSIG: testTSIG()}}})
	if err != nil {
		t.Fatal(err)
	}
	secPtr.Store(sec)
	runManager(t, sec)
	if z := events.next(t, "start"); z != nil {
		t.Fatalf("no saved copy, yet OnSecondary got serial %d", z.SOA().Serial)
	}
	z := events.waitSerial(t, 10)
	if a := lookupA(z, "www.example.test."); !slices.Equal(a, []string{"192.0.2.10"}) {
		t.Errorf("www after AXFR: %v", a)
	}
	if counter(t, sec, testZoneFQDN, "in", "axfr", "success") != 1 {
		t.Error("no AXFR counted")
	}

	// An LB snapshot change on the primary: serial 11, NOTIFY, IXFR.
	v2 := strings.Replace(testZoneV1, " 1 1 2 60", " 3600 600 86400 60", 1)
	v2 = strings.Replace(v2, "192.0.2.10", "192.0.2.11", 1)
	prim.Publish(testZoneFQDN, mustZone(t, v2).RRs())
	z = events.waitSerial(t, 11)
	if a := lookupA(z, "www.example.test."); !slices.Equal(a, []string{"192.0.2.11"}) {
		t.Errorf("www after IXFR: %v", a)
	}
	if counter(t, sec, testZoneFQDN, "in", "ixfr", "success") != 1 {
		t.Error("no IXFR counted")
	}
	st := sec.Status()
	if len(st) != 1 || st[0].Serial != 11 || !st[0].Ready() || st[0].Role != Secondary {
		t.Errorf("status: %+v", st)
	}
	// The copy on disk is the new zone.
	saved, err := zone.Load(testZoneFQDN, filepath.Join(dir, "secondary", "example.test.zone"))
	if err != nil || saved.SOA().Serial != 11 {
		t.Errorf("saved copy: %v", err)
	}
}

// TestRestartAndExpire: a secondary restarted with its primary down serves the saved copy,
// and after the SOA expire without contact it hands nil to OnSecondary (SERVFAIL).
func TestRestartAndExpire(t *testing.T) {
	dir := t.TempDir()
	// A primary with expire = 2 s, refresh and retry 1 s.
	prim, err := New(Options{Log: testLog(t), Zones: []config.Zone{{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}}}})
	if err != nil {
		t.Fatal(err)
	}
	prim.Publish(testZoneFQDN, mustZone(t, testZoneV1).RRs())
	primSrv := startServer(t, prim.Handle, outSOA(prim), true)
	zones := []config.Zone{{Name: testZoneName, Primaries: []string{primSrv.addr.String()}}}

	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(start)
	events := make(secondaryEvents, 16)
	sec, err := New(Options{Log: testLog(t), DataDir: dir, OnSecondary: events.on, Zones: zones, Now: clock.Now, after: clock.After})
	if err != nil {
		t.Fatal(err)
	}
	stop := runStoppable(sec)
	events.next(t, "start")
	events.waitSerial(t, 10)
	stop()
	primSrv.close() // the primary is gone

	// Restart 1.5 s later: the copy is served at once.
	clock = newFakeClock(start.Add(1500 * time.Millisecond))
	sec, err = New(Options{Log: testLog(t), DataDir: dir, OnSecondary: events.on, Zones: zones, Now: clock.Now, after: clock.After})
	if err != nil {
		t.Fatal(err)
	}
	stop = runStoppable(sec)
	defer stop()
	if z := events.next(t, "restart"); z == nil || z.SOA().Serial != 10 {
		t.Fatalf("after a restart: %v, want the saved copy", z)
	}
	// The refresh fails; 0.5 s later the zone expires (2 s after the last contact).
	clock.waitBlocked(t)
	if st := sec.Status()[0]; st.LastError == "" || st.Expired {
		t.Errorf("status before expiry: %+v", st)
	}
	clock.Advance(500 * time.Millisecond)
	if z := events.next(t, "expiry"); z != nil {
		t.Fatalf("after expire: serial %d, want nil", z.SOA().Serial)
	}
	if st := sec.Status()[0]; !st.Expired || st.Ready() {
		t.Errorf("status after expiry: %+v", st)
	}
	stop()

	// Another restart: still expired (the state is saved), nil from the start.
	sec, err = New(Options{Log: testLog(t), DataDir: dir, OnSecondary: events.on, Zones: zones, Now: clock.Now, after: clock.After})
	if err != nil {
		t.Fatal(err)
	}
	stop = runStoppable(sec)
	if z := events.next(t, "restart after expiry"); z != nil {
		t.Errorf("an expired copy served after a restart")
	}
	stop()
	if _, err := os.Stat(filepath.Join(dir, "secondary", "example.test.json")); err != nil {
		t.Error(err)
	}
}

// TestIXFRFallback: a secondary whose copy does not match the primary's journal (an IXFR that
// does not apply) falls back to AXFR; one at a serial the journal does not hold gets the whole
// zone in the IXFR reply.
func TestIXFRFallback(t *testing.T) {
	prim, err := New(Options{Log: testLog(t), Zones: []config.Zone{{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}}}})
	if err != nil {
		t.Fatal(err)
	}
	v1 := strings.Replace(testZoneV1, " 1 1 2 60", " 3600 600 86400 60", 1)
	prim.Publish(testZoneFQDN, mustZone(t, v1).RRs())                                                 // 10
	prim.Publish(testZoneFQDN, mustZone(t, strings.Replace(v1, "192.0.2.10", "192.0.2.11", 1)).RRs()) // 11: 10→11 journalled
	srv := startServer(t, prim.Handle, outSOA(prim), true)

	for _, c := range []struct {
		name       string
		saved      string // the secondary's copy
		ixfrResult string // how the IXFR ends
		axfr       float64
	}{
		{"journal does not apply", strings.Replace(v1, "192.0.2.10", "192.0.2.99", 1), "failure", 1},
		{"serial not in the journal", strings.Replace(v1, " 10 3600", " 5 3600", 1), "success", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			z := mustZone(t, c.saved)
			var b strings.Builder
			for _, rr := range z.RRs() {
				b.WriteString(rr.String() + "\n")
			}
			os.MkdirAll(filepath.Join(dir, "secondary"), 0o755)
			os.WriteFile(filepath.Join(dir, "secondary", "example.test.zone"), []byte(b.String()), 0o644)
			os.WriteFile(filepath.Join(dir, "secondary", "example.test.json"), []byte(`{"last_contact":"`+time.Now().Format(time.RFC3339)+`"}`), 0o644)
			events := make(secondaryEvents, 16)
			sec, err := New(Options{Log: testLog(t), DataDir: dir, OnSecondary: events.on,
				Zones: []config.Zone{{Name: testZoneName, Primaries: []string{srv.addr.String()}}}})
			if err != nil {
				t.Fatal(err)
			}
			runManager(t, sec)
			if z := events.next(t, "saved copy"); z == nil {
				t.Fatal("the saved copy was not served")
			}
			z = events.waitSerial(t, 11)
			if a := lookupA(z, "www.example.test."); !slices.Equal(a, []string{"192.0.2.11"}) {
				t.Errorf("www: %v", a)
			}
			if n := counter(t, sec, testZoneFQDN, "in", "ixfr", c.ixfrResult); n != 1 {
				t.Errorf("IXFR %s: %v, want 1", c.ixfrResult, n)
			}
			if n := counter(t, sec, testZoneFQDN, "in", "axfr", "success"); n != c.axfr {
				t.Errorf("AXFR: %v, want %v", n, c.axfr)
			}
		})
	}
}

// TestNewTwice: a Manager built again on the same registry (a reload) reuses the series.
func TestNewTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := New(Options{Log: testLog(t), Registerer: reg, Zones: []config.Zone{{Name: testZoneName, File: "x"}}}); err != nil {
			t.Fatal(err)
		}
	}
}
