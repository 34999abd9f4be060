package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/lbdns/lbdns/pkg/snapshot"
)

// Defaults.
const (
	// DefaultTCPIdleTimeout closes idle TCP connections (RFC 7766 §6.2.3 suggests seconds).
	DefaultTCPIdleTimeout = 10 * time.Second
	udpBatch              = 32   // datagrams per recvmmsg/sendmmsg
	udpInBuf              = 4096 // a query larger than this is cut and answered FORMERR
	tcpMaxConns           = 1024 // concurrent TCP connections accepted per listener
)

// Options configure a Server.
type Options struct {
	// Listen holds host:port addresses; each is served on UDP and TCP on the same port. Port 0
	// picks a free port (see Addrs).
	Listen []string
	// Snapshots is where the control plane publishes the serving state; a nil snapshot is
	// answered with SERVFAIL.
	Snapshots *atomic.Pointer[snapshot.Snapshot]
	Log       zerolog.Logger
	// Registerer receives the lbdns_dns_* and lbdns_lb_answers_total series (nil: not registered).
	Registerer prometheus.Registerer
	// UDPSockets is the number of SO_REUSEPORT sockets, each with its own goroutine, per listen
	// address (default runtime.GOMAXPROCS(0)).
	UDPSockets int
	// TCPIdleTimeout closes a TCP connection that sent nothing for this long (default 10s).
	TCPIdleTimeout time.Duration
	// Now is the clock of the latency histogram (default time.Now).
	Now func() time.Time
	// Seed seeds the per-goroutine random sources of steering decisions (0: random).
	Seed uint64
	// Xfr handles NOTIFY, AXFR/IXFR and TSIG-signed queries (nil: NOTIMP and REFUSED, and
	// signed queries are answered like unsigned ones). See XfrFunc.
	Xfr XfrFunc
}

// New checks opts and returns a server that is not yet listening (see Start).
func New(opts Options) (*Server, error) {
	if len(opts.Listen) == 0 {
		return nil, errors.New("server: no listen address")
	}
	if opts.Snapshots == nil {
		return nil, errors.New("server: no snapshot pointer")
	}
	for _, a := range opts.Listen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("server: listen address %q: %w", a, err)
		}
	}
	if opts.UDPSockets <= 0 {
		opts.UDPSockets = runtime.GOMAXPROCS(0)
	}
	if opts.TCPIdleTimeout <= 0 {
		opts.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s := newServer(opts.Listen, opts.UDPSockets, opts.TCPIdleTimeout, opts.Log, opts.Xfr, &snapSource{p: opts.Snapshots}, m)
	if opts.Now != nil {
		s.now = opts.Now
	}
	s.seed = opts.Seed
	if s.seed == 0 {
		s.seed = rand.Uint64()
	}
	return s, nil
}

// Server answers DNS over UDP and TCP on every listen address.
type Server struct {
	now      func() time.Time
	seed     uint64
	seeds    atomic.Uint64
	listen   []string
	sockets  int
	idle     time.Duration
	log      zerolog.Logger
	xfr      XfrFunc
	src      source
	m        *metrics
	tcpPool  sync.Pool // *worker, no answer cache
	closing  atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	udp      []*net.UDPConn
	tcp      []net.Listener
	conns    map[net.Conn]struct{}
	udpAddrs []net.Addr
	tcpAddrs []net.Addr
	started  bool
}

func newServer(listen []string, sockets int, idle time.Duration, log zerolog.Logger, xfr XfrFunc, src source, m *metrics) *Server {
	s := &Server{listen: listen, sockets: sockets, idle: idle, log: log, xfr: xfr, src: src, m: m,
		conns: map[net.Conn]struct{}{}, now: time.Now, seed: 1}
	s.tcpPool.New = func() any { return s.newWorker(false, 1) }
	return s
}

// newWorker returns the per-goroutine state of the query path. UDP workers keep an answer
// cache; TCP connections share pooled workers without one.
func (s *Server) newWorker(cache bool, proto int) *worker {
	w := &worker{src: s.src, srv: s, m: workerMetrics{shared: s.m, tcp: proto}}
	if cache {
		w.cache = make(map[string]*cacheEntry)
	}
	w.init()
	w.dyn.seed(s.seed + s.seeds.Add(1)*0x9e3779b97f4a7c15)
	return w
}

// Start binds every listen address on UDP (several SO_REUSEPORT sockets each) and TCP, on the
// same port, and starts serving. With port 0 the port is chosen by the kernel for the first UDP
// socket and reused for the others and for TCP.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server: already started")
	}
	s.started = true
	for _, addr := range s.listen {
		var err error
		for try := 0; try < 5; try++ {
			if err = s.bind(addr); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
				break
			}
		}
		if err != nil {
			s.closeAllLocked()
			return err
		}
	}
	for _, c := range s.udp {
		s.wg.Add(1)
		go s.serveUDP(c)
	}
	for _, l := range s.tcp {
		s.wg.Add(1)
		go s.serveTCP(l)
	}
	return nil
}

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		if strings.HasPrefix(network, "udp") {
			udpSocketOptions(int(fd))
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// bind opens the sockets of one listen address. On failure it closes what it opened.
func (s *Server) bind(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server: listen address %q: %w", addr, err)
	}
	lc := net.ListenConfig{Control: reusePort}
	var udp []*net.UDPConn
	closeAll := func() {
		for _, c := range udp {
			c.Close()
		}
	}
	for i := 0; i < s.sockets; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", net.JoinHostPort(host, port))
		if err != nil {
			closeAll()
			return fmt.Errorf("server: listen udp %s: %w", addr, err)
		}
		c := pc.(*net.UDPConn)
		udp = append(udp, c)
		if i == 0 {
			port = strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
		}
	}
	// TCP without SO_REUSEPORT: one listener suffices, and a second lbdns started on the same
	// address fails here instead of silently sharing the UDP traffic.
	var plain net.ListenConfig
	l, err := plain.Listen(context.Background(), "tcp", net.JoinHostPort(host, port))
	if err != nil {
		closeAll()
		return fmt.Errorf("server: listen tcp %s: %w", net.JoinHostPort(host, port), err)
	}
	s.udp = append(s.udp, udp...)
	s.tcp = append(s.tcp, l)
	s.udpAddrs = append(s.udpAddrs, udp[0].LocalAddr())
	s.tcpAddrs = append(s.tcpAddrs, l.Addr())
	s.log.Info().Str("addr", net.JoinHostPort(host, port)).Int("udp_sockets", len(udp)).Msg("dns listening")
	return nil
}

func (s *Server) closeAllLocked() {
	for _, c := range s.udp {
		c.Close()
	}
	for _, l := range s.tcp {
		l.Close()
	}
	s.udp, s.tcp, s.udpAddrs, s.tcpAddrs = nil, nil, nil, nil
}

// Addrs returns the bound addresses, one per listen address and transport, in listen order.
func (s *Server) Addrs() (udp, tcp []net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.udpAddrs...), append([]net.Addr(nil), s.tcpAddrs...)
}

// Shutdown stops reading new queries, lets in-flight ones finish and closes every socket. When
// ctx ends first, the remaining connections are closed at once and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	past := time.Unix(1, 0)
	for _, c := range s.udp {
		c.SetReadDeadline(past)
	}
	for _, l := range s.tcp {
		l.Close()
	}
	for c := range s.conns {
		c.SetReadDeadline(past)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	for _, c := range s.udp {
		c.Close()
	}
	s.mu.Unlock()
	if err == nil {
		<-done
	}
	return err
}

// serveTCP accepts connections; each is served by its own goroutine (RFC 7766: several queries
// per connection, answered in order here, which pipelining clients accept).
func (s *Server) serveTCP(l net.Listener) {
	defer s.wg.Done()
	sem := make(chan struct{}, tcpMaxConns)
	for {
		c, err := l.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn().Err(err).Msg("dns tcp accept")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			c.Close() // too many connections
			continue
		}
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			<-sem
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
			<-sem
			s.wg.Done()
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	var remote netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = ta.AddrPort()
	}
	in := make([]byte, 2+512)
	var out []byte
	for {
		if s.closing.Load() {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.idle))
		if _, err := io.ReadFull(c, in[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(in))
		if cap(in) < n {
			in = make([]byte, n)
		}
		in = in[:n]
		if _, err := io.ReadFull(c, in); err != nil {
			return
		}
		start := s.now()
		w := s.tcpPool.Get().(*worker)
		w.conn = c
		var ok bool
		out, ok = w.handle(in, client{addr: remote.Addr().Unmap(), port: remote, tcp: true}, append(out[:0], 0, 0))
		closeConn := w.closeConn
		w.conn, w.closeConn = nil, false
		w.m.flush()
		s.tcpPool.Put(w)
		if !ok {
			if closeConn {
				return
			}
			continue
		}
		if len(out)-2 > maxTCPSize {
			return
		}
		binary.BigEndian.PutUint16(out, uint16(len(out)-2))
		c.SetWriteDeadline(time.Now().Add(s.idle))
		if _, err := c.Write(out); err != nil {
			return
		}
		s.m.duration[1].Observe(s.now().Sub(start).Seconds())
	}
}
