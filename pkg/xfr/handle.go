package xfr

import (
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// maxChunk bounds the uncompressed size of the records in one message of an outgoing
// transfer, well below the 65535 bytes a TCP message may hold.
const maxChunk = 16 << 10

// Handle is the server's hook for NOTIFY and AXFR/IXFR (server.Options.Xfr): it answers
// transfers out of the zones given to Publish, NOTIFY for secondary zones, and TSIG-signed SOA
// queries of class IN at the apex of a configured zone (signed answers). It returns false,
// without writing, for messages it does not take (a zone that is not configured, an unsigned
// SOA query, a signed query of another type or name, another opcode), so that the server
// answers with its default. It verifies TSIG itself (see RawRequester) and signs every reply to
// a signed request.
func (m *Manager) Handle(w dns.ResponseWriter, req *dns.Msg) bool {
	if len(req.Question) != 1 || req.Response {
		return false
	}
	switch {
	case req.Opcode == dns.OpcodeNotify:
		return m.handleNotify(w, req)
	case req.Opcode != dns.OpcodeQuery:
		return false
	case req.Question[0].Qtype == dns.TypeAXFR, req.Question[0].Qtype == dns.TypeIXFR:
		return m.handleTransfer(w, req)
	case req.Question[0].Qtype == dns.TypeSOA && req.Question[0].Qclass == dns.ClassINET && req.IsTsig() != nil:
		return m.handleSignedSOA(w, req)
	}
	return false
}

// handleSignedSOA answers a TSIG-signed SOA query with a signed reply. Secondaries configured
// with a key for their primary (BIND) sign their SOA refresh queries and reject unsigned
// answers; the server hands such queries here.
func (m *Manager) handleSignedSOA(w dns.ResponseWriter, req *dns.Msg) bool {
	s := m.zone(req.Question[0].Name)
	if s == nil {
		return false
	}
	c, rcode := m.access(w, req, s)
	if rcode != dns.RcodeSuccess {
		writeReply(w, &c, errorReply(req, rcode))
		return true
	}
	s.mu.Lock()
	var soa dns.RR
	if s.out != nil {
		soa = s.out[0]
	} else if z := s.served(); z != nil {
		soa = z.SOA()
	}
	s.mu.Unlock()
	if soa == nil {
		writeReply(w, &c, errorReply(req, dns.RcodeServerFailure))
		return true
	}
	r := reply(req)
	r.Answer = []dns.RR{soa}
	writeReply(w, &c, r)
	return true
}

// remote returns the client's address and whether it came over TCP.
func remote(w dns.ResponseWriter) (netip.Addr, bool) {
	switch a := w.RemoteAddr().(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), true
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), false
	case nil:
		return netip.Addr{}, false
	default:
		ap, _ := netip.ParseAddrPort(a.String())
		return ap.Addr().Unmap(), a.Network() == "tcp"
	}
}

// writeReply sends one reply message (signed as c says); errors are the client's problem.
func writeReply(w dns.ResponseWriter, c *tsigCheck, m *dns.Msg) {
	if b, _, err := c.reply(m, "", false); err == nil {
		w.Write(b)
	}
}

func errorReply(req *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	m.Authoritative = false
	return m
}

// access checks a request against the zone's key (ruling 36, 40): ok, or the reply to send.
func (m *Manager) access(w dns.ResponseWriter, req *dns.Msg, s *zoneState) (tsigCheck, int) {
	var c tsigCheck
	if s.key != nil {
		c = verifyRequest(w, req, s.key)
		if !c.signed {
			return c, dns.RcodeRefused
		}
	} else {
		c = verifyRequest(w, req, m.keys()...)
	}
	if c.err != 0 {
		return c, dns.RcodeNotAuth
	}
	return c, dns.RcodeSuccess
}

func (m *Manager) handleTransfer(w dns.ResponseWriter, req *dns.Msg) bool {
	q := req.Question[0]
	s := m.zone(q.Name)
	if s == nil {
		return false
	}
	start := m.now()
	src, tcp := remote(w)
	allowed := false
	for _, p := range s.allow {
		if p.Contains(src) {
			allowed = true
			break
		}
	}
	log := m.log.With().Str("zone", s.origin).Str("client", src.String()).Str("type", dns.TypeToString[q.Qtype]).Logger()
	c, rcode := m.access(w, req, s)
	if rcode == dns.RcodeSuccess && !allowed {
		log.Info().Msg("xfr: transfer refused: client not in allow_transfer")
		m.m.transfer(s.origin, "out", q.Qtype, "refused", 0)
		writeReply(w, &c, errorReply(req, dns.RcodeRefused))
		return true
	}
	if rcode != dns.RcodeSuccess {
		log.Info().Bool("signed", c.signed).Str("tsig_error", dns.RcodeToString[int(c.err)]).Msg("xfr: transfer refused: TSIG")
		m.m.transfer(s.origin, "out", q.Qtype, "refused", 0)
		writeReply(w, &c, errorReply(req, rcode))
		return true
	}
	if q.Qtype == dns.TypeAXFR && !tcp {
		writeReply(w, &c, errorReply(req, dns.RcodeNotImplemented))
		return true
	}
	s.mu.Lock()
	out, journal := s.out, s.journal
	s.mu.Unlock()
	if out == nil {
		log.Info().Msg("xfr: transfer refused: no data (zone not loaded)")
		m.m.transfer(s.origin, "out", q.Qtype, "failure", 0)
		writeReply(w, &c, errorReply(req, dns.RcodeServerFailure))
		return true
	}
	cur := out[0].(*dns.SOA)
	var rrs []dns.RR
	kind := "axfr"
	if q.Qtype == dns.TypeIXFR {
		var have *dns.SOA
		for _, rr := range req.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				have = soa
				break
			}
		}
		if have == nil {
			writeReply(w, &c, errorReply(req, dns.RcodeFormatError))
			return true
		}
		rrs, kind = ixfrAnswer(out, journal, have.Serial)
	} else {
		rrs = append(append(make([]dns.RR, 0, len(out)+1), out...), cur)
	}
	if !tcp {
		// One message: the answer if it fits, else the SOA alone (retry over TCP).
		r := reply(req)
		r.Answer = rrs
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil && int(o.UDPSize()) > size {
			size = int(o.UDPSize())
		}
		if r.Len() > size-100 { // room for a TSIG record
			r.Answer = []dns.RR{cur}
		}
		writeReply(w, &c, r)
		m.m.transfer(s.origin, "out", q.Qtype, "success", m.now().Sub(start))
		return true
	}
	n, err := sendRRs(w, req, &c, rrs)
	if err != nil {
		log.Warn().Err(err).Msg("xfr: transfer out failed")
		m.m.transfer(s.origin, "out", q.Qtype, "failure", 0)
		return true
	}
	d := m.now().Sub(start)
	s.mu.Lock()
	s.lastOut = m.now()
	s.mu.Unlock()
	m.m.transfer(s.origin, "out", q.Qtype, "success", d)
	log.Info().Str("form", kind).Uint32("serial", cur.Serial).Int("records", len(rrs)).Int("messages", n).
		Dur("duration", d).Msg("xfr: transfer out")
	return true
}

func reply(req *dns.Msg) *dns.Msg {
	r := new(dns.Msg)
	r.SetReply(req)
	r.Authoritative = true
	r.Compress = true
	return r
}

// ixfrAnswer is the IXFR reply to a client at serial have (RFC 1995): the current SOA alone
// when the client is up to date (or ahead), the journal's increments from have when it holds
// them, else the whole zone. kind says which ("uptodate", "ixfr", "axfr").
func ixfrAnswer(out []dns.RR, journal []delta, have uint32) ([]dns.RR, string) {
	cur := out[0].(*dns.SOA)
	if !serialGreater(cur.Serial, have) {
		return []dns.RR{cur}, "uptodate"
	}
	for i := range journal {
		if journal[i].from.Serial != have {
			continue
		}
		rrs := []dns.RR{cur}
		for _, d := range journal[i:] {
			rrs = append(rrs, d.from)
			rrs = append(rrs, d.del...)
			rrs = append(rrs, d.to)
			rrs = append(rrs, d.add...)
		}
		return append(rrs, cur), "ixfr"
	}
	return append(append(make([]dns.RR, 0, len(out)+1), out...), cur), "axfr"
}

// sendRRs writes rrs as a sequence of TCP messages, each signed when the request was (RFC
// 8945 §5.3.1: later messages chain on the previous MAC, timers only). It returns how many
// messages it wrote.
func sendRRs(w dns.ResponseWriter, req *dns.Msg, c *tsigCheck, rrs []dns.RR) (int, error) {
	mac, n := "", 0
	for len(rrs) > 0 {
		size, i := 0, 0
		for i < len(rrs) && (i == 0 || size+dns.Len(rrs[i]) <= maxChunk) {
			size += dns.Len(rrs[i])
			i++
		}
		r := reply(req)
		r.Answer = rrs[:i]
		rrs = rrs[i:]
		b, next, err := c.reply(r, mac, n > 0)
		if err != nil {
			return n, err
		}
		if _, err := w.Write(b); err != nil {
			return n, err
		}
		mac = next
		n++
	}
	return n, nil
}

func (m *Manager) handleNotify(w dns.ResponseWriter, req *dns.Msg) bool {
	q := req.Question[0]
	s := m.zone(q.Name)
	if s == nil {
		return false
	}
	src, _ := remote(w)
	log := m.log.With().Str("zone", s.origin).Str("client", src.String()).Logger()
	fromPrimary := false
	for _, p := range s.primaries {
		if p.Addr() == src {
			fromPrimary = true
			break
		}
	}
	if !s.secondary || !fromPrimary {
		log.Info().Msg("xfr: NOTIFY refused: not from a primary of the zone")
		m.m.notifies.WithLabelValues(s.origin, "in", "refused").Inc()
		w.WriteMsg(errorReply(req, dns.RcodeRefused))
		return true
	}
	c, rcode := m.access(w, req, s)
	if rcode != dns.RcodeSuccess {
		log.Info().Bool("signed", c.signed).Str("tsig_error", dns.RcodeToString[int(c.err)]).Msg("xfr: NOTIFY refused: TSIG")
		m.m.notifies.WithLabelValues(s.origin, "in", "refused").Inc()
		writeReply(w, &c, errorReply(req, rcode))
		return true
	}
	select { // refresh at once (a refresh already asked for covers this one)
	case s.kick <- struct{}{}:
	default:
	}
	writeReply(w, &c, reply(req))
	m.m.notifies.WithLabelValues(s.origin, "in", "accepted").Inc()
	var serial any = "none"
	for _, rr := range req.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			serial = soa.Serial
		}
	}
	log.Info().Interface("serial", serial).Msg("xfr: NOTIFY accepted, refreshing")
	return true
}
