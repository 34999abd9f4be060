package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// axfr transfers zone from addr over TCP and returns the records, or the error.
func axfr(t *testing.T, addr, zone string) ([]dns.RR, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(zone))
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second}
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			return nil, env.Error
		}
		rrs = append(rrs, env.RR...)
	}
	return rrs, nil
}

// TestReloadTransferSettings: SIGHUP applies a zone's new transfer settings (a new transfer
// manager takes over): allow_transfer added lets a transfer through, removed refuses it again;
// DNS answers go on across both reloads.
func TestReloadTransferSettings(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"example.test.zone": coreZone,
		"lbdns.yaml":        coreConfig,
	})
	cfg := filepath.Join(dir, "lbdns.yaml")
	s := startServe(t, cfg)
	if _, err := axfr(t, s.TCP, "example.test"); err == nil {
		t.Fatal("AXFR allowed without allow_transfer")
	}

	writeFiles(t, dir, map[string]string{"lbdns.yaml": coreConfig + "    allow_transfer: [127.0.0.1/32]\n"})
	n := s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reloaded", n, 5*time.Second)
	rrs, err := axfr(t, s.TCP, "example.test")
	if err != nil {
		t.Fatalf("AXFR after allow_transfer was added by a reload: %v\n%s", err, s.logText())
	}
	if len(rrs) < 6 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Errorf("AXFR: %d records, want SOA … SOA with the zone's data: %v", len(rrs), rrs)
	}
	r := query(t, "udp", s.DNS, "www.example.test", dns.TypeA)
	if len(r.Answer) != 1 {
		t.Errorf("www after the reload: %v", r)
	}

	writeFiles(t, dir, map[string]string{"lbdns.yaml": coreConfig})
	n = s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("reloaded", n, 5*time.Second)
	if _, err := axfr(t, s.TCP, "example.test"); err == nil {
		t.Error("AXFR still allowed after allow_transfer was removed by a reload")
	}
	r = query(t, "tcp", s.TCP, "www.example.test", dns.TypeA)
	if len(r.Answer) != 1 {
		t.Errorf("www after the second reload: %v", r)
	}
}
