package server

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"
)

// newTestWorker is a UDP worker (with its answer cache) answering from v, without sockets.
func newTestWorker(t testing.TB, v view) *worker {
	t.Helper()
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(nil, 1, DefaultTCPIdleTimeout, zerolog.Nop(), nil, staticSource{v}, m)
	return s.newWorker(true, 0)
}

var benchClient = client{addr: netip.MustParseAddr("192.0.2.1"), port: netip.MustParseAddrPort("192.0.2.1:5353")}

func benchHandle(b *testing.B, v view, query []byte) {
	w := newTestWorker(b, v)
	out := make([]byte, 0, 4096)
	if r, ok := w.handle(query, benchClient, out[:0]); !ok || len(r) == 0 {
		b.Fatal("no reply")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _ = w.handle(query, benchClient, out[:0])
	}
	b.StopTimer()
	w.m.flush()
}

func BenchmarkServeStaticA(b *testing.B) {
	benchHandle(b, &zoneView{zones: testZones(b)}, q("www.diff.test.", dns.TypeA, 1232, false))
}

func BenchmarkServeStaticANoEDNS(b *testing.B) {
	benchHandle(b, &zoneView{zones: testZones(b)}, q("www.diff.test.", dns.TypeA, 0, false))
}

func BenchmarkServeNXDOMAIN(b *testing.B) {
	benchHandle(b, &zoneView{zones: testZones(b)}, q("nope.diff.test.", dns.TypeA, 1232, false))
}

// BenchmarkServeUncachedA is the slow path: lookup and miekg/dns packing every time (TCP
// workers have no cache).
func BenchmarkServeUncachedA(b *testing.B) {
	w := newTestWorker(b, &zoneView{zones: testZones(b)})
	w.cache = nil
	query := q("www.diff.test.", dns.TypeA, 1232, false)
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _ = w.handle(query, benchClient, out[:0])
	}
}

// TestStaticAnswerAllocs: a positive answer from a warm cache allocates nothing.
func TestStaticAnswerAllocs(t *testing.T) {
	w := newTestWorker(t, &zoneView{zones: testZones(t)})
	out := make([]byte, 0, 4096)
	for _, query := range [][]byte{
		q("www.diff.test.", dns.TypeA, 1232, false),
		q("WwW.diff.test.", dns.TypeAAAA, 0, false),
		q("nope.diff.test.", dns.TypeA, 1232, true),
		q("www.diff.test.", dns.TypeA, 1232, false, withECS("192.0.2.0/24", nil)),
	} {
		w.handle(query, benchClient, out[:0]) // warm
		n := testing.AllocsPerRun(200, func() {
			out, _ = w.handle(query, benchClient, out[:0])
		})
		if n != 0 {
			m := new(dns.Msg)
			m.Unpack(query)
			t.Errorf("%s: %v allocations per query, want 0", m.Question[0].String(), n)
		}
	}
}
