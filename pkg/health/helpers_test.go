package health

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
)

// syncBuffer is a log sink tests can read while the prober writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is an injected clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stubResolver answers hostnames from a map.
type stubResolver map[string]string

func (r stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func testProber(t *testing.T, opts Options) (*Prober, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	opts.Log = zerolog.New(buf)
	return New(opts), buf
}

// closedPort returns a loopback TCP port with nothing listening.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	return port
}

func portOf(t *testing.T, addr string) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}

func origin(name, addr string, port uint16) model.Origin {
	return model.Origin{Name: name, Address: addr, Port: port, Enabled: model.Ptr(true), Weight: model.Ptr(1.0)}
}

func mon(typ string, mut ...func(*model.Monitor)) model.Monitor {
	m := model.Monitor{ID: "m-" + typ, Type: typ, Timeout: 2, Retries: model.Ptr(0), Interval: 5}
	for _, f := range mut {
		f(&m)
	}
	return m
}
