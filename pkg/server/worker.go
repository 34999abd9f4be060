package server

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/snapshot"
)

// XfrFunc handles NOTIFY messages and AXFR/IXFR queries (pkg/xfr plugs in here). It writes its
// replies through w (over TCP every WriteMsg is one length-framed message, so an AXFR may write
// many; over UDP only the first is sent) and returns true, or returns false without writing to
// let the server answer with its default: NOTIMP for NOTIFY, REFUSED for AXFR/IXFR.
//
// The server does not verify TSIG: w.TsigStatus reports an error for a signed request, and the
// handler verifies the signature itself.
type XfrFunc func(w dns.ResponseWriter, req *dns.Msg) bool

// worker is the state of one query-serving goroutine (a UDP socket loop, or a TCP exchange):
// reusable buffers and messages, the answer cache, local metrics, the LB adapter.
type worker struct {
	srv     *Server
	src     source
	q       query
	c       client
	msg     dns.Msg
	res     result
	lower   []byte
	key     []byte
	pack    []byte
	pk      packer
	names   map[string]string // lowercase wire name → presentation form (bounded)
	zoneCtr map[string]*zoneCounters
	view    view
	cache   map[string]*cacheEntry
	m       workerMetrics
	dyn     dynState

	snap     *snapshot.Snapshot // snapSource's memo of the last snapshot seen and its view
	snapView *zoneView

	conn      net.Conn // TCP only: where an XfrFunc writes
	closeConn bool     // the XfrFunc asked to close the TCP connection
	xfrOut    []byte   // UDP: the reply an XfrFunc wrote
	xfrSent   bool
}

func (w *worker) init() {
	w.lower = make([]byte, 0, maxNameLen)
	w.key = make([]byte, 0, maxNameLen+3)
	w.pack = make([]byte, 0, maxTCPSize)
	w.pk.comp = make([]compEntry, 0, maxCompList)
	w.names = make(map[string]string)
	w.zoneCtr = make(map[string]*zoneCounters)
	w.dyn.init()
}

// xfr hands NOTIFY and AXFR/IXFR to the XfrFunc, or answers them with the defaults.
func (w *worker) xfr(in, out []byte) ([]byte, bool) {
	q := &w.q
	def := dns.RcodeRefused
	if q.opcode == dns.OpcodeNotify {
		def = dns.RcodeNotImplemented
	}
	var fn XfrFunc
	if w.srv != nil {
		fn = w.srv.xfr
	}
	if fn == nil {
		return w.errorReply(in, out, def), true
	}
	req := new(dns.Msg)
	if err := req.Unpack(in); err != nil {
		return w.errorReply(in, out, dns.RcodeFormatError), true
	}
	rw := &respWriter{w: w, req: req}
	w.xfrOut, w.xfrSent = out, false
	if !fn(rw, req) {
		return w.errorReply(in, out, def), true
	}
	w.m.response(dns.RcodeSuccess)
	if w.c.tcp {
		// Written directly to the connection.
		return out, false
	}
	return w.xfrOut, w.xfrSent
}

// respWriter is the dns.ResponseWriter an XfrFunc gets.
type respWriter struct {
	w   *worker
	req *dns.Msg
}

var errTsigUnchecked = errors.New("server: TSIG not verified by the server")

func (r *respWriter) LocalAddr() net.Addr {
	if r.w.conn != nil {
		return r.w.conn.LocalAddr()
	}
	return r.w.c.local
}

func (r *respWriter) RemoteAddr() net.Addr {
	if r.w.c.tcp {
		return net.TCPAddrFromAddrPort(r.w.c.port)
	}
	return net.UDPAddrFromAddrPort(r.w.c.port)
}

func (r *respWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = r.Write(b)
	return err
}

func (r *respWriter) Write(b []byte) (int, error) {
	w := r.w
	if !w.c.tcp {
		if w.xfrSent {
			return 0, errors.New("server: one reply per UDP request")
		}
		if len(b) > w.q.clientSize() {
			return 0, errors.New("server: UDP reply larger than the client's buffer")
		}
		w.xfrOut = append(w.xfrOut, b...)
		w.xfrSent = true
		return len(b), nil
	}
	if len(b) > maxTCPSize {
		return 0, dns.ErrBuf
	}
	frame := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(frame, uint16(len(b)))
	copy(frame[2:], b)
	w.conn.SetWriteDeadline(time.Now().Add(w.srv.idle))
	_, err := w.conn.Write(frame)
	return len(b), err
}

func (r *respWriter) Close() error { r.w.closeConn = true; return nil }

func (r *respWriter) TsigStatus() error {
	if r.req.IsTsig() != nil {
		return errTsigUnchecked
	}
	return nil
}

func (r *respWriter) TsigTimersOnly(bool) {}
func (r *respWriter) Hijack()             {}
