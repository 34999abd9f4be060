package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/zone"
)

// staticSource serves one view forever.
type staticSource struct{ v view }

func (s staticSource) load(*worker) view {
	if s.v == nil {
		return nil
	}
	return s.v
}

// testZones loads the differential test zone.
func testZones(t testing.TB) *zone.Set {
	t.Helper()
	z, err := zone.Load("diff.test.", "testdata/diff.test.zone")
	if err != nil {
		t.Fatalf("load zone: %v", err)
	}
	return zone.NewSet(z)
}

type testServer struct {
	srv      *Server
	udp, tcp string
	reg      *prometheus.Registry
}

// startTest starts a server on 127.0.0.1:0 answering from v.
func startTest(t testing.TB, v view, idle time.Duration, xfr XfrFunc) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if idle == 0 {
		idle = DefaultTCPIdleTimeout
	}
	s := newServer([]string{"127.0.0.1:0"}, 2, idle, zerolog.Nop(), xfr, staticSource{v}, m)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	u, tc := s.Addrs()
	return &testServer{srv: s, udp: u[0].String(), tcp: tc[0].String(), reg: reg}
}

// exchangeRaw sends raw bytes over UDP and returns the raw reply (nil on timeout).
func exchangeRaw(t testing.TB, addr string, q []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// exchangeTCPRaw sends raw bytes over TCP with a length prefix and returns the reply.
func exchangeTCPRaw(t testing.TB, addr string, q []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(q)))
	if _, err := c.Write(append(frame, q...)); err != nil {
		t.Fatal(err)
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil
	}
	return buf
}

func mustUnpack(t testing.TB, b []byte) *dns.Msg {
	t.Helper()
	if b == nil {
		t.Fatal("no reply")
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatalf("unpack reply: %v", err)
	}
	return m
}

// newQuery builds a query; bufsize 0 = no EDNS.
func newQuery(name string, qtype uint16, bufsize uint16, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.Id = 4242
	if bufsize > 0 {
		m.SetEdns0(bufsize, do)
	}
	return m
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// section renders RRs as sorted lines (names lowercased: owner names and names in RDATA are
// case-insensitive, RFC 4343, and compression may spell them as the query did).
func section(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.ToLower(rr.String()))
	}
	sort.Strings(out)
	return out
}

func optString(m *dns.Msg) string {
	o := m.IsEdns0()
	if o == nil {
		return "no OPT"
	}
	return fmt.Sprintf("OPT version=%d do=%v size=%d ext-rcode=%d", o.Version(), o.Do(), o.UDPSize(), o.ExtendedRcode())
}

// summary renders the parts of a reply the tests compare.
func summary(m *dns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "opcode=%s rcode=%s qr=%v aa=%v tc=%v rd=%v ra=%v ad=%v cd=%v\n",
		dns.OpcodeToString[m.Opcode], dns.RcodeToString[m.Rcode], m.Response, m.Authoritative, m.Truncated,
		m.RecursionDesired, m.RecursionAvailable, m.AuthenticatedData, m.CheckingDisabled)
	for _, q := range m.Question {
		fmt.Fprintf(&b, "question: %s %s %s\n", q.Name, dns.ClassToString[q.Qclass], dns.TypeToString[q.Qtype])
	}
	for _, s := range []struct {
		name string
		rrs  []dns.RR
	}{{"answer", m.Answer}, {"authority", m.Ns}, {"additional", m.Extra}} {
		for _, l := range section(s.rrs) {
			fmt.Fprintf(&b, "%s: %s\n", s.name, l)
		}
	}
	b.WriteString(optString(m))
	return b.String()
}
