package server

import (
	"encoding/binary"
	"net/netip"

	"github.com/miekg/dns"
)

// Wire constants. Sizes follow RFC 1035 (512 without EDNS), RFC 6891 and the DNS Flag Day 2020
// recommendation of 1232 bytes, which is also Knot DNS's default max-udp-payload.
const (
	headerLen     = 12
	minUDPSize    = 512   // RFC 1035 §4.2.1; RFC 6891 §6.2.5: smaller EDNS sizes count as 512
	maxUDPSize    = 1232  // our EDNS payload size, and the cap on what a client may ask for
	maxTCPSize    = 65535 // RFC 7766: 2-byte length prefix
	maxNameLen    = 255
	ednsOptionECS = 8 // RFC 7871
	optRRFixedLen = 11
	flagQR        = 1 << 15
	flagAA        = 1 << 10
	flagTC        = 1 << 9
	flagRD        = 1 << 8
	flagCD        = 1 << 4
	flagDO        = 1 << 15 // in the OPT TTL field
	rcodeBadVers  = 16
)

// query is what the packet handler needs to know about one incoming message. It refers into
// the packet buffer (no copies) and is reused per worker.
type query struct {
	id      uint16
	flags   uint16 // header flags word as received
	opcode  int
	qdcount int
	qEnd    int // offset just past QTYPE/QCLASS (only when hasQ)
	hasQ    bool
	qtype   uint16
	qclass  uint16
	nameLen int // wire length of QNAME, offset 12

	edns    bool
	version uint8
	do      bool
	udpSize uint16 // as the client advertised

	hasECS    bool
	ecsFamily uint16
	ecsSource uint8
	ecsAddr   [16]byte     // address bytes as sent (ceil(source/8) of them significant)
	ecsPrefix netip.Prefix // what steering sees (IPv4 for an IPv4-mapped IPv6 prefix)
	ecsMapped bool         // family 2 with an IPv4-mapped address and source ≥ 96

	tsig bool // the last record of the additional section is a TSIG record (RFC 8945 §5.1)

	rcode int // non-zero: reply with this rcode without looking anything up (FORMERR, BADVERS, NOTIMP)
}

// parseQuery reads msg into q. It reports false when the message must be dropped without a
// reply: shorter than a header, or a response (QR=1), which answering could turn into a loop.
// Other problems are recorded in q.rcode so the caller replies with FORMERR, NOTIMP or BADVERS.
func parseQuery(msg []byte, q *query) bool {
	*q = query{}
	if len(msg) < headerLen {
		return false
	}
	q.id = binary.BigEndian.Uint16(msg[0:])
	q.flags = binary.BigEndian.Uint16(msg[2:])
	if q.flags&flagQR != 0 {
		return false
	}
	q.opcode = int(q.flags>>11) & 0xF
	q.qdcount = int(binary.BigEndian.Uint16(msg[4:]))
	ancount := int(binary.BigEndian.Uint16(msg[6:]))
	nscount := int(binary.BigEndian.Uint16(msg[8:]))
	arcount := int(binary.BigEndian.Uint16(msg[10:]))

	off := headerLen
	if q.qdcount >= 1 {
		n, ok := nameLen(msg, off)
		if !ok || off+n+4 > len(msg) {
			q.rcode = dns.RcodeFormatError
			return true
		}
		q.nameLen = n
		off += n
		q.qtype = binary.BigEndian.Uint16(msg[off:])
		q.qclass = binary.BigEndian.Uint16(msg[off+2:])
		off += 4
		q.qEnd = off
		q.hasQ = true
	}
	// Unknown opcodes still get NOTIMP with our OPT when their OPT can be read (as Knot does).
	notimp := q.opcode != dns.OpcodeQuery && q.opcode != dns.OpcodeNotify
	if notimp {
		defer func() { q.rcode = dns.RcodeNotImplemented }()
	}
	if q.qdcount != 1 && !notimp {
		// RFC 9619: QDCOUNT must be 1 in a QUERY; FORMERR otherwise.
		q.rcode = dns.RcodeFormatError
		return true
	}
	// Skip answer and authority records (a NOTIFY may carry an SOA in the answer section);
	// look for the OPT record in the additional section.
	for i := 0; i < ancount+nscount+arcount; i++ {
		n, ok := skipName(msg, off)
		if !ok || off+n+10 > len(msg) {
			q.rcode = dns.RcodeFormatError
			return true
		}
		off += n
		typ := binary.BigEndian.Uint16(msg[off:])
		class := binary.BigEndian.Uint16(msg[off+2:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			q.rcode = dns.RcodeFormatError
			return true
		}
		if typ == dns.TypeTSIG {
			// RFC 8945 §5.1: a TSIG record anywhere but last in the additional section is
			// FORMERR.
			if i != ancount+nscount+arcount-1 || arcount == 0 {
				q.tsig = false
				q.rcode = dns.RcodeFormatError
				return true
			}
			q.tsig = true
		}
		if typ == dns.TypeOPT {
			// RFC 6891 §6.1.1: one OPT, in the additional section. Like Knot, an OPT owned by
			// another name than the root is accepted, and a malformed OPT gets FORMERR without
			// an OPT in the reply (the client's EDNS cannot be trusted).
			if i < ancount+nscount || q.edns {
				q.edns, q.hasECS = false, false
				q.rcode = dns.RcodeFormatError
				return true
			}
			q.edns = true
			q.udpSize = class
			q.version = uint8(ttl >> 16)
			q.do = ttl&flagDO != 0
			if !parseOptions(msg[off:off+rdlen], q) {
				q.edns, q.hasECS = false, false
				q.rcode = dns.RcodeFormatError
				return true
			}
		}
		off += rdlen
	}
	if q.edns && q.version > 0 {
		q.rcode = rcodeBadVers
	}
	return true
}

// parseOptions reads the EDNS options; only ECS matters to us. It reports false when an
// option is malformed (RFC 7871 §7.1.1: FORMERR).
func parseOptions(b []byte, q *query) bool {
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		code := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return false
		}
		if code == ednsOptionECS {
			if q.hasECS || !parseECS(b[4:4+n], q) {
				return false
			}
		}
		b = b[4+n:]
	}
	return true
}

// parseECS validates an EDNS Client Subnet option (RFC 7871 §6, §7.1.1): family 1 or 2,
// source prefix within the family, scope 0, exactly ceil(source/8) address bytes and no bits
// set beyond the source prefix.
func parseECS(b []byte, q *query) bool {
	if len(b) < 4 {
		return false
	}
	family := binary.BigEndian.Uint16(b)
	source, scope := b[2], b[3]
	addr := b[4:]
	if family != 1 && family != 2 {
		return false
	}
	if int(source) > familyBits(family) || scope != 0 || len(addr) != (int(source)+7)/8 {
		return false
	}
	if source%8 != 0 && addr[len(addr)-1]&(0xFF>>(source%8)) != 0 {
		return false
	}
	q.hasECS = true
	q.ecsFamily = family
	q.ecsSource = source
	copy(q.ecsAddr[:], addr)
	var ip netip.Addr
	if family == 1 {
		ip = netip.AddrFrom4([4]byte(q.ecsAddr[:4]))
	} else {
		ip = netip.AddrFrom16(q.ecsAddr)
	}
	q.ecsPrefix = netip.PrefixFrom(ip, int(source))
	if family == 2 && source >= 96 && ip.Is4In6() {
		// An IPv4-mapped prefix: steering (GeoIP, rules, client keys) works on the IPv4
		// address; its scope is converted back to the query's family in appendOPT.
		q.ecsMapped = true
		q.ecsPrefix = netip.PrefixFrom(ip.Unmap(), int(source)-96)
	}
	return true
}

// nameLen returns the wire length of the uncompressed name at msg[off:]. A question name
// cannot usefully be compressed (nothing precedes it but the header), so pointers are refused.
func nameLen(msg []byte, off int) (int, bool) {
	start := off
	for {
		if off >= len(msg) {
			return 0, false
		}
		l := int(msg[off])
		if l == 0 {
			off++
			break
		}
		if l&0xC0 != 0 {
			return 0, false
		}
		off += 1 + l
		if off-start > maxNameLen-1 {
			return 0, false
		}
	}
	return off - start, true
}

// skipName returns how many bytes the possibly compressed name at msg[off:] occupies.
func skipName(msg []byte, off int) (int, bool) {
	start := off
	for {
		if off >= len(msg) {
			return 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1 - start, true
		case l&0xC0 == 0xC0:
			if off+2 > len(msg) {
				return 0, false
			}
			return off + 2 - start, true
		case l&0xC0 != 0:
			return 0, false
		}
		off += 1 + l
	}
}

// lowerName writes the ASCII-lowercased copy of name into dst and returns it.
func lowerName(dst, name []byte) []byte {
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// clientSize is the largest reply the client accepts over UDP: 512 without EDNS, else its
// advertised size clamped to [512, maxUDPSize].
func (q *query) clientSize() int {
	if !q.edns {
		return minUDPSize
	}
	n := int(q.udpSize)
	if n < minUDPSize {
		n = minUDPSize
	}
	if n > maxUDPSize {
		n = maxUDPSize
	}
	return n
}

// optLen is the size of the OPT record appended to a reply to q (0 without EDNS).
func (q *query) optLen() int {
	if !q.edns {
		return 0
	}
	n := optRRFixedLen
	if q.hasECS {
		n += 4 + 4 + (int(q.ecsSource)+7)/8
	}
	return n
}

// appendOPT appends our OPT record: payload size maxUDPSize, version 0, DO echoed (RFC 3225),
// the upper bits of an extended rcode, and the client's ECS option with scope (RFC 7871 §7.2.1).
func appendOPT(b []byte, q *query, rcode int, scope int) []byte {
	ttl := uint32(rcode>>4) << 24
	if q.do {
		ttl |= flagDO
	}
	rdlen := 0
	if q.hasECS {
		rdlen = 4 + 4 + (int(q.ecsSource)+7)/8
	}
	b = append(b, 0, byte(dns.TypeOPT>>8), byte(dns.TypeOPT), byte(maxUDPSize>>8), byte(maxUDPSize&0xFF),
		byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl), byte(rdlen>>8), byte(rdlen))
	if q.hasECS {
		n := (int(q.ecsSource) + 7) / 8
		if q.ecsMapped && scope > 0 {
			scope += 96
		}
		if limit := familyBits(q.ecsFamily); scope > limit {
			scope = limit
		}
		b = append(b, 0, ednsOptionECS, byte((4+n)>>8), byte(4+n), byte(q.ecsFamily>>8), byte(q.ecsFamily), q.ecsSource, byte(scope))
		b = append(b, q.ecsAddr[:n]...)
	}
	return b
}

// appendHeader appends a reply header for q: ID, QR, opcode, RD and CD copied (RFC 1035 §4.1.1,
// RFC 4035 §3.1.6), RA never set (authoritative only), the low four bits of rcode.
func appendHeader(b []byte, q *query, aa, tc bool, rcode, qd, an, ns, ar int) []byte {
	flags := uint16(flagQR) | uint16(q.opcode)<<11 | q.flags&(flagRD|flagCD) | uint16(rcode&0xF)
	if aa {
		flags |= flagAA
	}
	if tc {
		flags |= flagTC
	}
	return append(b, byte(q.id>>8), byte(q.id), byte(flags>>8), byte(flags),
		byte(qd>>8), byte(qd), byte(an>>8), byte(an), byte(ns>>8), byte(ns), byte(ar>>8), byte(ar))
}

// familyBits is the address length of an ECS family (1 = IPv4, 2 = IPv6).
func familyBits(family uint16) int {
	if family == 1 {
		return 32
	}
	return 128
}
