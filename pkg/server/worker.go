package server

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/snapshot"
)

// XfrFunc handles NOTIFY messages, AXFR/IXFR queries and TSIG-signed queries (pkg/xfr plugs in
// here). It writes its replies through w (over TCP every WriteMsg is one length-framed message,
// so an AXFR may write many; over UDP only the first is sent) and returns true, or returns false
// without writing to let the server answer with its default: NOTIMP for NOTIFY, REFUSED for
// AXFR/IXFR, and for a signed query of another type the server's usual (unsigned) answer.
//
// A query is signed when the last record of its additional section is a TSIG record; such
// queries take the slow path (the message is unpacked for the XfrFunc). Unsigned queries never
// reach the XfrFunc except NOTIFY and AXFR/IXFR.
//
// The server does not verify TSIG: w.TsigStatus reports an error for a signed request, and the
// handler verifies the signature itself from the request as received, which w gives through
// its RawRequest method (pkg/xfr's RawRequester). Those bytes are the server's receive buffer:
// valid until the XfrFunc returns, to be copied if kept.
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
	fn := w.xfrFunc()
	if fn == nil {
		return w.errorReply(in, out, def), true
	}
	req := new(dns.Msg)
	if err := req.Unpack(in); err != nil {
		return w.errorReply(in, out, dns.RcodeFormatError), true
	}
	if reply, sent, handled := w.callXfr(fn, in, req, out); handled {
		return reply, sent
	}
	return w.errorReply(in, out, def), true
}

// signed offers a TSIG-signed query to the XfrFunc. handled is false when there is none, the
// message does not unpack or the XfrFunc declines: the caller then answers as usual.
func (w *worker) signed(in, out []byte) (reply []byte, sent, handled bool) {
	fn := w.xfrFunc()
	if fn == nil {
		return out, false, false
	}
	req := new(dns.Msg)
	if err := req.Unpack(in); err != nil || req.IsTsig() == nil {
		return out, false, false
	}
	return w.callXfr(fn, in, req, out)
}

func (w *worker) xfrFunc() XfrFunc {
	if w.srv == nil {
		return nil
	}
	return w.srv.xfr
}

// callXfr runs fn on req (in: the bytes received). handled reports that fn took the message;
// then reply and sent are handle's results.
func (w *worker) callXfr(fn XfrFunc, in []byte, req *dns.Msg, out []byte) (reply []byte, sent, handled bool) {
	rw := &respWriter{w: w, req: req, raw: in}
	w.xfrOut, w.xfrSent = out, false
	if !fn(rw, req) {
		return out, false, false
	}
	w.m.response(dns.RcodeSuccess)
	if w.c.tcp {
		// Written directly to the connection.
		return out, false, true
	}
	return w.xfrOut, w.xfrSent, true
}

// respWriter is the dns.ResponseWriter an XfrFunc gets.
type respWriter struct {
	w   *worker
	req *dns.Msg
	raw []byte // the request as received (the receive buffer: valid during the XfrFunc call)
}

// RawRequest returns the request exactly as it was received, without the TCP length prefix
// (pkg/xfr verifies TSIG signatures on these bytes). It is the server's buffer: valid until the
// XfrFunc returns.
func (r *respWriter) RawRequest() []byte { return r.raw }

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
