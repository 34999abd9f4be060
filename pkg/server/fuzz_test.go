package server

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandle feeds raw wire bytes to the packet handler: it must never panic, and either drop
// the message deliberately (shorter than a header, or a response) or return a reply that
// parses, carries the query's ID and QR=1, and fits the transport.
func FuzzHandle(f *testing.F) {
	for _, s := range [][]byte{
		q("www.diff.test.", dns.TypeA, 1232, false),
		q("WwW.diff.test.", dns.TypeANY, 0, false),
		q("big.diff.test.", dns.TypeTXT, 512, true),
		q("x.wild.diff.test.", dns.TypeA, 1232, false, withECS("192.0.2.0/24", nil)),
		q("lb.diff.test.", dns.TypeA, 1232, false, withECS("10.0.0.0/8", nil)),
		q("cn.diff.test.", dns.TypeANY, 0, false),
		q("nope.diff.test.", dns.TypeA, 1232, false, withECS("2001:db8::/48", nil)),
		ecsRaw(1, 20, 0, []byte{10, 1, 0x11}),
		q("diff.test.", dns.TypeSOA, 0, false, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }),
		q("diff.test.", dns.TypeAXFR, 0, false),
		q("www.diff.test.", dns.TypeA, 1232, false, func(m *dns.Msg) { m.IsEdns0().SetVersion(3) }),
		{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1},
		{0, 1, 0, 0},
	} {
		f.Add(s, false)
	}
	v := newZoneView(lbSnapshot(f)) // the test zone with load balancers (lb_test.go)
	f.Fuzz(func(t *testing.T, in []byte, tcp bool) {
		w := newTestWorker(t, v)
		c := benchClient
		c.tcp = tcp
		for round := 0; round < 2; round++ { // the second round may come from the cache
			out, ok := w.handle(in, c, nil)
			if !ok {
				if len(in) >= headerLen && in[2]&0x80 == 0 {
					t.Fatalf("dropped a query")
				}
				return
			}
			if len(out) < headerLen || out[0] != in[0] || out[1] != in[1] || out[2]&0x80 == 0 {
				t.Fatalf("bad reply header % x", out[:min(len(out), headerLen)])
			}
			max := maxTCPSize
			if !tcp {
				max = maxUDPSize
			}
			if len(out) > max {
				t.Fatalf("reply of %d bytes", len(out))
			}
			m := new(dns.Msg)
			if err := m.Unpack(out); err != nil {
				t.Fatalf("reply does not parse: %v\n% x", err, out)
			}
		}
	})
}
