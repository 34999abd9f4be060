package main

import (
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestSlowFirstRoundServesZoneData (ruling 8): with an origin that answers its health check
// only after the monitor's timeout, the first round takes timeout × (retries + 1) = 2 s. Zone
// data is served long before that (DNS is bound after at most a second); the load-balanced
// name answers SERVFAIL until the round's bound passed, then its answer.
func TestSlowFirstRoundServesZoneData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hangs past the monitor's timeout; released when the test ends
		case <-release:
		case <-r.Context().Done():
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { close(release); srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	dir := writeFiles(t, t.TempDir(), map[string]string{
		"example.test.zone": coreZone,
		"lbdns.yaml": coreConfig + `monitors:
  - name: slow
    type: http
    port: ` + strconv.Itoa(port) + `
    timeout: 2
    retries: 0
    interval: 60
pools:
  - name: p
    monitor: slow
    origins: [{ name: o, address: 127.0.0.1 }]
load_balancers:
  - name: lb.example.test
    default_pools: [p]
`,
	})
	start := time.Now()
	p := startServeNoWait(t, filepath.Join(dir, "lbdns.yaml"))
	addr := hcWaitAddr(t, p, true)
	bound := time.Since(start)
	r := query(t, "udp", addr, "www.example.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("zone data during the first round: %v", r)
	}
	if bound > 1900*time.Millisecond {
		t.Errorf("DNS bound %s after start, want within about a second (the first round takes 2 s)", bound)
	}
	if r := query(t, "udp", addr, "lb.example.test", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("load-balanced name during the first round: %v, want SERVFAIL", r)
	}
	// After the round's bound the name is served: the origin is still unknown, so it counts
	// as down, and the pool (its own fallback) answers with its health ignored (ruling 6).
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := query(t, "udp", addr, "lb.example.test", dns.TypeA)
		if r.Rcode == dns.RcodeSuccess {
			if len(r.Answer) != 1 || time.Since(start) < 1900*time.Millisecond {
				t.Errorf("first answer %v at %s, want 127.0.0.1 after the 2 s bound", r, time.Since(start))
			}
			break
		}
		if r.Rcode != dns.RcodeServerFailure || time.Now().After(deadline) {
			t.Fatalf("load-balanced name: %v (at %s)\n%s", r, time.Since(start), p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
