package server

import (
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// result is an authoritative answer as the wire layer needs it.
type result struct {
	rcode             int
	aa                bool
	answer, ns, extra []dns.RR
	dynamic           bool // the answer depends on the client (an LB decided it): never cached
	scope             int  // ECS scope prefix length of the answer (ruling 11): max over decisions
	lastLB, lastPool  int  // the last LB decision, for metrics; -1 when none
	zone              *zoneCounters
}

// view is one generation of answer data as the packet handler sees it (the snapshot in
// production, a fake in the wire-layer tests).
type view interface {
	// lookup answers qname (lowercase presentation form) and qtype into res. It reports false
	// when no served zone holds qname (REFUSED).
	lookup(w *worker, qname string, qtype uint16, res *result) bool
}

// source hands out the current view with one atomic load per query. A nil view means nothing
// is being served yet (SERVFAIL).
type source interface {
	load(w *worker) view
}

// client is who sent a query: the address steering sees, and the transport.
type client struct {
	addr  netip.Addr     // unmapped
	port  netip.AddrPort // as received
	local net.Addr       // UDP: the socket's address (TCP: the connection has it)
	tcp   bool
}

// handle answers one message: in is the query, out a buffer to append the reply to. It returns
// the reply and false when the message is dropped (too short, or a response).
func (w *worker) handle(in []byte, c client, out []byte) ([]byte, bool) {
	q := &w.q
	if !parseQuery(in, q) {
		w.m.dropped++
		return out, false
	}
	w.c = c
	w.m.request(q.qtype)
	if q.rcode != 0 {
		return w.errorReply(in, out, q.rcode), true
	}
	if q.qtype == 0 {
		// Type 0 is reserved (RFC 6895 §3.1); Knot answers NOTIMP.
		return w.errorReply(in, out, dns.RcodeNotImplemented), true
	}
	if q.opcode == dns.OpcodeNotify || q.qtype == dns.TypeAXFR || q.qtype == dns.TypeIXFR {
		return w.xfr(in, out)
	}
	if q.tsig {
		// Signed queries (a secondary's SOA check) are answered signed by the XfrFunc; those it
		// declines are answered below, unsigned.
		if reply, sent, handled := w.signed(in, out); handled {
			return reply, sent
		}
	}
	switch q.qclass {
	case dns.ClassINET, dns.ClassANY:
		// QCLASS * (RFC 1035 §3.2.5) matches IN, the only class we serve; Knot does the same.
	default:
		// CH and others: Knot answers REFUSED (it knows only id.server/version.bind in CH,
		// which lbdns does not serve).
		return w.errorReply(in, out, dns.RcodeRefused), true
	}
	max := maxTCPSize
	if !c.tcp {
		max = q.clientSize()
	}
	v := w.src.load(w)
	if v == nil {
		return w.errorReply(in, out, dns.RcodeServerFailure), true
	}
	if v != w.view {
		w.view = v
		w.resetCache()
		clear(w.zoneCtr)
	}
	// Fast path: a static answer packed before.
	cacheable := w.cache != nil && q.qclass == dns.ClassINET
	if cacheable {
		w.key = w.cacheKey(in)
		if e := w.cache[string(w.key)]; e != nil {
			if headerLen+(q.qEnd-headerLen)+len(e.body)+q.optLen() <= max {
				w.m.response(e.rcode)
				e.zone.count(e.rcode)
				return w.assemble(in, out, e.aa, e.rcode, e.an, e.ns, e.ar, e.body, 0), true
			}
		}
	}
	// Slow path: look the name up and pack (own packer; miekg/dns for unusual types).
	w.lower = lowerName(w.lower[:0], in[headerLen:headerLen+q.nameLen])
	qname, ok := w.names[string(w.lower)]
	if !ok {
		var err error
		if qname, _, err = dns.UnpackDomainName(w.lower, 0); err != nil {
			return w.errorReply(in, out, dns.RcodeFormatError), true
		}
		if len(w.names) >= maxCacheEntries {
			clear(w.names)
		}
		w.names[string(w.lower)] = qname
	}
	res := &w.res
	res.reset()
	if !v.lookup(w, qname, q.qtype, res) {
		return w.errorReply(in, out, dns.RcodeRefused), true
	}
	packed, ok := w.pk.pack(w.pack, qname, q.qtype, q.qclass, res.answer, res.ns, res.extra)
	if !ok {
		m := &w.msg
		m.Question = append(m.Question[:0], dns.Question{Name: qname, Qtype: q.qtype, Qclass: q.qclass})
		m.Answer, m.Ns, m.Extra = res.answer, res.ns, res.extra
		m.Compress = true
		var err error
		if packed, err = m.PackBuffer(w.pack); err != nil {
			return w.errorReply(in, out, dns.RcodeServerFailure), true
		}
		m.Answer, m.Ns, m.Extra = nil, nil, nil
	}
	w.pack = packed[:0]
	body := packed[q.qEnd:] // the question we packed has the same length as the client's
	an, ns, ar := len(res.answer), len(res.ns), len(res.extra)
	scope := 0
	if res.dynamic {
		scope = res.scope
	}
	limit := max - q.optLen()
	if len(packed) > limit && ok {
		// Like Knot: the answer and authority sections fit whole or not at all; additional
		// RRsets are added while they fit. A referral missing some in-domain glue sets TC
		// (RFC 9471). Partial answers are never cached.
		fit, nar, tc, fits := w.pk.packFit(w.pack, qname, q.qtype, q.qclass, res, limit)
		if fits {
			w.pack = fit[:0]
			if tc {
				w.m.truncated++
			}
			w.m.response(res.rcode)
			res.zone.count(res.rcode)
			out = w.assemble(in, out, res.aa, res.rcode, an, ns, nar, fit[q.qEnd:], scope)
			if tc {
				out[2] |= flagTC >> 8
			}
			return out, true
		}
	}
	if len(packed) > limit {
		// Like Knot: TC=1 with the question and OPT only; the client retries over TCP.
		w.m.truncated++
		w.m.response(res.rcode)
		res.zone.count(res.rcode)
		return w.assembleTC(in, out, res.aa, res.rcode, scope), true
	}
	if cacheable && !res.dynamic {
		w.store(res, an, ns, ar, body)
	}
	w.m.response(res.rcode)
	res.zone.count(res.rcode)
	return w.assemble(in, out, res.aa, res.rcode, an, ns, ar, body, scope), true
}

// assemble writes a reply: header, the client's own question bytes (case preserved), the packed
// sections (compressed against a question of the same length at offset 12), OPT.
func (w *worker) assemble(in, out []byte, aa bool, rcode, an, ns, ar int, body []byte, scope int) []byte {
	q := &w.q
	if q.edns {
		ar++
	}
	out = appendHeader(out, q, aa, false, rcode, 1, an, ns, ar)
	out = append(out, in[headerLen:q.qEnd]...)
	out = append(out, body...)
	if q.edns {
		out = appendOPT(out, q, rcode, scope)
	}
	return out
}

// assembleTC writes a truncated reply: header with TC, question, OPT.
func (w *worker) assembleTC(in, out []byte, aa bool, rcode, scope int) []byte {
	q := &w.q
	ar := 0
	if q.edns {
		ar = 1
	}
	out = appendHeader(out, q, aa, true, rcode, 1, 0, 0, ar)
	out = append(out, in[headerLen:q.qEnd]...)
	if q.edns {
		out = appendOPT(out, q, rcode, scope)
	}
	return out
}

// errorReply answers with rcode and no data: the question when it could be read, OPT when the
// query had one (always for BADVERS, RFC 6891 §6.1.3).
func (w *worker) errorReply(in, out []byte, rcode int) []byte {
	q := &w.q
	qd := 0
	if q.hasQ && q.qdcount == 1 {
		qd = 1
	}
	edns := q.edns
	if rcode == dns.RcodeFormatError && !q.hasQ {
		// The question could not be read: nothing more can be trusted either.
		edns = false
	}
	ar := 0
	if edns {
		ar = 1
	}
	w.m.response(rcode)
	out = appendHeader(out, q, false, false, rcode, qd, 0, 0, ar)
	if qd == 1 {
		out = append(out, in[headerLen:q.qEnd]...)
	}
	if edns {
		out = appendOPT(out, q, rcode, 0)
	}
	return out
}

// cacheKey is the lowercased QNAME, QTYPE and the EDNS/DO bits: everything a static answer
// depends on besides the client's buffer size (checked on use).
func (w *worker) cacheKey(in []byte) []byte {
	q := &w.q
	k := lowerName(w.key[:0], in[headerLen:headerLen+q.nameLen])
	var f byte
	if q.edns {
		f |= 1
	}
	if q.do {
		f |= 2
	}
	return append(k, byte(q.qtype>>8), byte(q.qtype), f)
}

// cacheEntry is a packed static answer: the sections after the question.
type cacheEntry struct {
	aa         bool
	rcode      int
	an, ns, ar int
	body       []byte
	zone       *zoneCounters
}

// maxCacheEntries bounds each worker's answer cache; when full it starts over (random names
// cannot grow it without bound).
const maxCacheEntries = 1 << 16

func (w *worker) resetCache() {
	if w.cache != nil {
		clear(w.cache)
	}
}

func (w *worker) store(res *result, an, ns, ar int, body []byte) {
	if len(w.cache) >= maxCacheEntries {
		clear(w.cache)
	}
	w.cache[string(w.key)] = &cacheEntry{aa: res.aa, rcode: res.rcode, an: an, ns: ns, ar: ar, body: append([]byte(nil), body...), zone: res.zone}
}

// reset prepares a result for the next lookup, keeping slice capacity.
func (r *result) reset() {
	r.rcode = dns.RcodeSuccess
	r.aa = false
	r.answer, r.ns, r.extra = nil, nil, nil
	r.dynamic = false
	r.scope = 0
	r.lastLB, r.lastPool = -1, -1
	r.zone = nil
}
