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
