//go:build linux

package server

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestUDPNoPathMTUDiscovery: UDP sockets do not do path MTU discovery and send without DF
// (IP_PMTUDISC_OMIT), so spoofed ICMP cannot shrink the replies' MTU.
func TestUDPNoPathMTUDiscovery(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	ts.srv.mu.Lock()
	conns := ts.srv.udp
	ts.srv.mu.Unlock()
	if len(conns) == 0 {
		t.Fatal("no UDP sockets")
	}
	for _, c := range conns {
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		if err := rc.Control(func(fd uintptr) {
			v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
		}); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		if v != unix.IP_PMTUDISC_OMIT {
			t.Errorf("IP_MTU_DISCOVER = %d, want IP_PMTUDISC_OMIT (%d)", v, unix.IP_PMTUDISC_OMIT)
		}
	}
}
