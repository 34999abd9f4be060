package server

import (
	"strings"

	"github.com/miekg/dns"
)

// packer writes a reply's sections without miekg/dns for the record types answers usually hold,
// with name compression through a per-worker table reused every query (miekg/dns allocates a
// compression map per message, and its exported PackRR writes Rdlength into the shared zone
// records). It reports false for anything it does not handle; the caller then uses miekg/dns.
type packer struct {
	b    []byte
	comp []compEntry // names written so far; a short list searched linearly beats a map here
}

type compEntry struct {
	suffix string
	off    int
}

const (
	maxPointer  = 0x3FFF
	maxCompList = 48 // names remembered per message; later ones are written in full
)

func (p *packer) find(suffix string) (int, bool) {
	for i := range p.comp {
		if p.comp[i].suffix == suffix {
			return p.comp[i].off, true
		}
	}
	return 0, false
}

// pack writes header placeholder, the question (qname lowercase presentation form) and the
// sections; it returns the whole message (the caller uses what follows the question).
func (p *packer) pack(dst []byte, qname string, qtype, qclass uint16, sections ...[]dns.RR) ([]byte, bool) {
	p.comp = p.comp[:0]
	p.b = append(dst[:0], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // header, written by the caller
	if !p.name(qname, true) {
		return nil, false
	}
	p.u16(qtype)
	p.u16(qclass)
	for _, s := range sections {
		for _, rr := range s {
			if !p.rr(rr) {
				return nil, false
			}
		}
	}
	if len(p.b) > maxTCPSize {
		return nil, false
	}
	return p.b, true
}

func (p *packer) u16(v uint16) { p.b = append(p.b, byte(v>>8), byte(v)) }
func (p *packer) u32(v uint32) { p.b = append(p.b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }

// name appends a fully qualified name in presentation form. Names with escapes are left to
// miekg/dns.
func (p *packer) name(s string, compress bool) bool {
	if s == "." {
		p.b = append(p.b, 0)
		return true
	}
	if len(s) == 0 || s[len(s)-1] != '.' || strings.IndexByte(s, '\\') >= 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); {
		suffix := s[i:]
		if compress {
			if off, ok := p.find(suffix); ok {
				p.u16(0xC000 | uint16(off))
				return true
			}
		}
		if len(p.b) <= maxPointer && len(p.comp) < maxCompList {
			p.comp = append(p.comp, compEntry{suffix, len(p.b)})
		}
		j := strings.IndexByte(suffix, '.')
		if j <= 0 || j > 63 {
			return false
		}
		p.b = append(p.b, byte(j))
		p.b = append(p.b, suffix[:j]...)
		i += j + 1
	}
	p.b = append(p.b, 0)
	return true
}

// rr appends one record of a type the packer knows.
func (p *packer) rr(rr dns.RR) bool {
	h := rr.Header()
	if !p.name(h.Name, true) {
		return false
	}
	p.u16(h.Rrtype)
	p.u16(h.Class)
	p.u32(h.Ttl)
	lenAt := len(p.b)
	p.u16(0)
	ok := true
	switch r := rr.(type) {
	case *dns.A:
		ip := r.A.To4()
		if ip == nil || h.Rrtype != dns.TypeA {
			return false
		}
		p.b = append(p.b, ip...)
	case *dns.AAAA:
		if len(r.AAAA) != 16 || h.Rrtype != dns.TypeAAAA {
			return false
		}
		p.b = append(p.b, r.AAAA...)
	case *dns.CNAME:
		ok = h.Rrtype == dns.TypeCNAME && p.name(r.Target, true)
	case *dns.NS:
		ok = h.Rrtype == dns.TypeNS && p.name(r.Ns, true)
	case *dns.PTR:
		ok = h.Rrtype == dns.TypePTR && p.name(r.Ptr, true)
	case *dns.MX:
		p.u16(r.Preference)
		ok = h.Rrtype == dns.TypeMX && p.name(r.Mx, true)
	case *dns.SRV:
		p.u16(r.Priority)
		p.u16(r.Weight)
		p.u16(r.Port)
		ok = h.Rrtype == dns.TypeSRV && p.name(r.Target, false) // RFC 2782: no compression
	case *dns.SOA:
		ok = h.Rrtype == dns.TypeSOA && p.name(r.Ns, true) && p.name(r.Mbox, true)
		p.u32(r.Serial)
		p.u32(r.Refresh)
		p.u32(r.Retry)
		p.u32(r.Expire)
		p.u32(r.Minttl)
	case *dns.TXT:
		if h.Rrtype != dns.TypeTXT {
			return false
		}
		for _, t := range r.Txt {
			if len(t) > 255 || strings.IndexByte(t, '\\') >= 0 {
				return false
			}
			p.b = append(p.b, byte(len(t)))
			p.b = append(p.b, t...)
		}
	default:
		return false
	}
	if !ok {
		return false
	}
	n := len(p.b) - lenAt - 2
	p.b[lenAt], p.b[lenAt+1] = byte(n>>8), byte(n)
	return true
}

// packFit packs what fits in limit bytes: answer and authority whole (fits=false otherwise),
// then each additional RRset that fits. tc reports that a referral lost glue at or below the
// delegation (RFC 9471 §3: in-domain glue that does not fit sets TC).
func (p *packer) packFit(dst []byte, qname string, qtype, qclass uint16, res *result, limit int) (msg []byte, nExtra int, tc, fits bool) {
	b, ok := p.pack(dst, qname, qtype, qclass, res.answer, res.ns)
	if !ok || len(b) > limit {
		return nil, 0, false, false
	}
	cut := ""
	if !res.aa && len(res.answer) == 0 && len(res.ns) > 0 && res.ns[0].Header().Rrtype == dns.TypeNS {
		cut = res.ns[0].Header().Name
	}
	extra := res.extra
	for len(extra) > 0 {
		// One RRset: consecutive records of one owner and type.
		n := 1
		h := extra[0].Header()
		for n < len(extra) && extra[n].Header().Rrtype == h.Rrtype && strings.EqualFold(extra[n].Header().Name, h.Name) {
			n++
		}
		mark, cmark := len(p.b), len(p.comp)
		ok := true
		for _, rr := range extra[:n] {
			if !p.rr(rr) {
				ok = false
				break
			}
		}
		if !ok || len(p.b) > limit {
			p.b, p.comp = p.b[:mark], p.comp[:cmark]
			if cut != "" && dns.IsSubDomain(cut, h.Name) {
				tc = true
			}
		} else {
			nExtra += n
		}
		extra = extra[n:]
	}
	return p.b, nExtra, tc, true
}
