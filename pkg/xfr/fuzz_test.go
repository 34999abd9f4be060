package xfr

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/config"
)

// sinkWriter is a ResponseWriter that keeps what is written.
type sinkWriter struct {
	raw    []byte
	tcp    bool
	remote string
	out    [][]byte
}

func (w *sinkWriter) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *sinkWriter) RemoteAddr() net.Addr {
	if w.tcp {
		return &net.TCPAddr{IP: net.ParseIP(w.remote), Port: 5000}
	}
	return &net.UDPAddr{IP: net.ParseIP(w.remote), Port: 5000}
}
func (w *sinkWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err == nil {
		w.out = append(w.out, b)
	}
	return err
}
func (w *sinkWriter) Write(b []byte) (int, error) { w.out = append(w.out, b); return len(b), nil }
func (w *sinkWriter) Close() error                { return nil }
func (w *sinkWriter) TsigStatus() error           { return nil }
func (w *sinkWriter) TsigTimersOnly(bool)         {}
func (w *sinkWriter) Hijack()                     {}
func (w *sinkWriter) RawRequest() []byte          { return w.raw }

// FuzzHandle feeds arbitrary messages to Handle, over UDP and TCP, from a primary's address:
// no panic, and every reply it writes is a DNS message.
func FuzzHandle(f *testing.F) {
	seed := func(m *dns.Msg, key bool) {
		if key {
			m.SetTsig(testKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
			b, _, err := dns.TsigGenerate(m, testSecret, "", false)
			if err == nil {
				f.Add(b)
			}
			return
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	for _, key := range []bool{false, true} {
		seed(new(dns.Msg).SetAxfr(testZoneFQDN), key)
		seed(new(dns.Msg).SetIxfr(testZoneFQDN, 10, "ns1.example.test.", "h.example.test."), key)
		seed(new(dns.Msg).SetIxfr("second.test.", 1, "a.", "b."), key)
		seed(new(dns.Msg).SetNotify("second.test."), key)
		seed(new(dns.Msg).SetQuestion("second.test.", dns.TypeSOA), key)
	}
	m, err := New(Options{Log: zerolog.Nop(), Zones: []config.Zone{
		{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}, TSIG: testTSIG()},
		{Name: "second.test", Primaries: []string{"127.0.0.1:53"}, TSIG: testTSIG()},
	}})
	if err != nil {
		f.Fatal(err)
	}
	m.Publish(testZoneFQDN, mustZone(f, testZoneV1).RRs())
	m.Publish(testZoneFQDN, mustZone(f, testZoneV1+"x IN A 192.0.2.9\n").RRs())
	f.Fuzz(func(t *testing.T, b []byte) {
		req := new(dns.Msg)
		if req.Unpack(b) != nil {
			return
		}
		for _, tcp := range []bool{false, true} {
			w := &sinkWriter{raw: b, tcp: tcp, remote: "127.0.0.1"}
			m.Handle(w, req)
			for _, o := range w.out {
				if err := new(dns.Msg).Unpack(o); err != nil {
					t.Fatalf("a reply that does not parse: %v", err)
				}
			}
		}
	})
}

// FuzzTransferIn feeds the answer records of arbitrary messages to the reader of incoming
// transfers, as an IXFR from serial 10 of the test zone: no panic, and a zone that comes out
// is valid.
func FuzzTransferIn(f *testing.F) {
	cur := mustZone(f, testZoneV1)
	next := mustZone(f, testZoneV1+"x IN A 192.0.2.9\n")
	soa11 := dns.Copy(next.SOA()).(*dns.SOA)
	soa11.Serial = 11
	add := &dns.A{Hdr: dns.RR_Header{Name: "x.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 9)}
	for _, rrs := range [][]dns.RR{
		{soa11, cur.SOA(), soa11, add, soa11},                     // incremental
		append(append([]dns.RR{soa11}, next.RRs()[1:]...), soa11), // AXFR form
		{cur.SOA()}, // up to date
	} {
		m := new(dns.Msg)
		m.Answer = rrs
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil || len(m.Answer) == 0 {
			return
		}
		rd := ixfrReader{ixfr: true, have: 10}
		for _, rr := range m.Answer {
			if rd.done || rd.feed(rr, testZoneFQDN) != nil {
				return
			}
		}
		if len(rd.rrs) == 1 {
			rd.done = true
		}
		if !rd.done {
			return
		}
		z, _, _, err := rd.result(testZoneFQDN, cur)
		if err == nil && z == nil {
			t.Fatal("no zone and no error")
		}
	})
}
