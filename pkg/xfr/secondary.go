package xfr

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/zone"
)

// Timeouts of the secondary side.
const (
	soaTimeout      = 3 * time.Second  // one SOA query
	dialTimeout     = 5 * time.Second  // TCP connect to a primary
	readTimeout     = 30 * time.Second // between two messages of a transfer
	transferTimeout = 10 * time.Minute // one whole transfer
	// bootRetry is the retry interval of a zone never loaded (no SOA to take it from yet).
	bootRetry = 10 * time.Second
)

// timers of a zone's SOA (ruling 40: no minimum imposed; a 0 is taken as 1 s, not a busy loop).
func timers(soa *dns.SOA) (refresh, retry, expire time.Duration) {
	sec := func(v uint32) time.Duration {
		if v == 0 {
			v = 1
		}
		return time.Duration(v) * time.Second
	}
	return sec(soa.Refresh), sec(soa.Retry), sec(soa.Expire)
}

// runSecondary keeps one secondary zone fresh until ctx ends.
func (m *Manager) runSecondary(ctx context.Context, s *zoneState) {
	refreshNow := true
	for ctx.Err() == nil {
		if refreshNow {
			m.refresh(ctx, s)
		}
		refreshNow = false
		now := m.now()
		s.mu.Lock()
		next := s.nextRefresh
		var expireAt time.Time
		if s.z != nil && !s.expired {
			_, _, exp := timers(s.z.SOA())
			expireAt = s.lastContact.Add(exp)
		}
		s.mu.Unlock()
		wait := next.Sub(now)
		if !expireAt.IsZero() && expireAt.Sub(now) < wait {
			wait = expireAt.Sub(now)
		}
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
			refreshNow = true
		case <-m.after(wait):
			now = m.now()
			if !expireAt.IsZero() && !now.Before(expireAt) {
				m.expire(s)
			}
			refreshNow = !now.Before(next)
		}
	}
}

// expire stops serving a zone whose primaries were out of reach for its SOA expire time.
func (m *Manager) expire(s *zoneState) {
	s.mu.Lock()
	if s.expired || s.z == nil {
		s.mu.Unlock()
		return
	}
	s.expired = true
	contact := s.lastContact
	s.mu.Unlock()
	m.m.expired.WithLabelValues(s.origin).Set(1)
	m.log.Error().Str("zone", s.origin).Time("last_contact", contact).Msg("xfr: secondary zone expired: answering SERVFAIL")
	m.saveState(s)
	m.onSec(s.origin, nil)
}

// refresh checks the primaries once: SOA, then IXFR (or AXFR) when a newer serial is there.
func (m *Manager) refresh(ctx context.Context, s *zoneState) {
	s.mu.Lock()
	cur := s.z
	s.mu.Unlock()
	log := m.log.With().Str("zone", s.origin).Logger()
	var errs []error
	var got *zone.Zone
	ok := false
	for _, p := range s.primaries {
		if ctx.Err() != nil {
			return
		}
		plog := log.With().Str("primary", p.String()).Logger()
		if cur != nil {
			serial, err := m.soaQuery(ctx, s, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: SOA: %w", p, err))
				continue
			}
			if !serialGreater(serial, cur.SOA().Serial) {
				ok = true
				break
			}
			z, err := m.transferIn(ctx, s, p, cur, plog)
			if err == nil {
				if z != cur {
					got = z
				}
				ok = true
				break
			}
			plog.Warn().Err(err).Msg("xfr: IXFR failed, trying AXFR")
		}
		z, err := m.transferIn(ctx, s, p, nil, plog)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		got, ok = z, true
		break
	}
	if ctx.Err() != nil {
		return
	}
	now := m.now()
	s.mu.Lock()
	if !ok {
		msg := errors.Join(errs...).Error()
		retry := bootRetry
		if s.z != nil {
			_, retry, _ = timers(s.z.SOA())
		}
		s.lastErr, s.nextRefresh = msg, now.Add(retry)
		s.mu.Unlock()
		log.Warn().Str("err", msg).Dur("retry", retry).Msg("xfr: refresh failed")
		return
	}
	wasExpired := s.expired
	s.lastErr, s.lastContact, s.expired = "", now, false
	if got != nil {
		s.z, s.lastIn = got, now
	}
	z := s.z
	refresh, _, _ := timers(z.SOA())
	s.nextRefresh = now.Add(refresh)
	s.mu.Unlock()
	m.m.expired.WithLabelValues(s.origin).Set(0)
	m.m.serial.WithLabelValues(s.origin).Set(float64(z.SOA().Serial))
	if got != nil {
		if err := m.saveZone(s, got); err != nil {
			log.Error().Err(err).Msg("xfr: cannot save the zone copy")
		}
	}
	m.saveState(s)
	if got != nil || wasExpired {
		if wasExpired {
			log.Info().Uint32("serial", z.SOA().Serial).Msg("xfr: secondary zone back from expiry")
		}
		m.onSec(s.origin, z)
	}
}

// soaQuery asks a primary for the zone's serial (unsigned, ruling 40), over UDP then TCP if
// truncated.
func (m *Manager) soaQuery(ctx context.Context, s *zoneState, p netip.AddrPort) (uint32, error) {
	q := new(dns.Msg)
	q.SetQuestion(s.origin, dns.TypeSOA)
	q.RecursionDesired = false
	var r *dns.Msg
	var err error
	for _, proto := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: proto, Timeout: soaTimeout}
		r, _, err = c.ExchangeContext(ctx, q, p.String())
		if err != nil || !r.Truncated {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return 0, fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && dns.CanonicalName(soa.Hdr.Name) == s.origin {
			if !r.Authoritative {
				return 0, errors.New("the answer is not authoritative")
			}
			return soa.Serial, nil
		}
	}
	return 0, errors.New("no SOA in the answer")
}

// transferIn fetches the zone from p: IXFR from cur's serial, or AXFR when cur is nil. A
// primary that answers an IXFR with the whole zone is fine; the result is validated like a
// zone file.
func (m *Manager) transferIn(ctx context.Context, s *zoneState, p netip.AddrPort, cur *zone.Zone, log zerolog.Logger) (*zone.Zone, error) {
	start := m.now()
	qtype := dns.TypeAXFR
	req := new(dns.Msg)
	if cur != nil {
		qtype = dns.TypeIXFR
		req.SetIxfr(s.origin, cur.SOA().Serial, "", "")
		req.Ns[0] = dns.Copy(cur.SOA())
	} else {
		req.SetAxfr(s.origin)
	}
	z, form, n, err := m.fetch(ctx, s, p, req, cur)
	if err != nil {
		m.m.transfer(s.origin, "in", qtype, "failure", 0)
		return nil, err
	}
	d := m.now().Sub(start)
	m.m.transfer(s.origin, "in", qtype, "success", d)
	from := uint32(0)
	if cur != nil {
		from = cur.SOA().Serial
	}
	log.Info().Str("type", dns.TypeToString[qtype]).Str("form", form).Uint32("from_serial", from).
		Uint32("serial", z.SOA().Serial).Int("records", n).Dur("duration", d).Msg("xfr: transfer in")
	return z, nil
}

func (m *Manager) fetch(ctx context.Context, s *zoneState, p netip.AddrPort, req *dns.Msg, cur *zone.Zone) (*zone.Zone, string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, transferTimeout)
	defer cancel()
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", p.String())
	if err != nil {
		return nil, "", 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var wire []byte
	mac := ""
	if s.key != nil {
		wire, mac, err = s.key.sign(req, "", false)
	} else {
		wire, err = req.Pack()
	}
	if err != nil {
		return nil, "", 0, err
	}
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(wire)))
	conn.SetWriteDeadline(time.Now().Add(readTimeout))
	if _, err := conn.Write(append(frame, wire...)); err != nil {
		return nil, "", 0, err
	}
	var rd ixfrReader
	if cur != nil {
		rd.have = cur.SOA().Serial
		rd.ixfr = true
	}
	for first := true; !rd.done; first = false {
		conn.SetReadDeadline(time.Now().Add(readTimeout))
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			return nil, "", 0, fmt.Errorf("reading the transfer: %w", err)
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(conn, b); err != nil {
			return nil, "", 0, fmt.Errorf("reading the transfer: %w", err)
		}
		msg := new(dns.Msg)
		if err := msg.Unpack(b); err != nil {
			return nil, "", 0, fmt.Errorf("reading the transfer: %w", err)
		}
		if msg.Id != req.Id || !msg.Response {
			return nil, "", 0, errors.New("a message that is not the reply")
		}
		if s.key != nil {
			t := msg.IsTsig()
			if t == nil {
				if msg.Rcode != dns.RcodeSuccess {
					return nil, "", 0, fmt.Errorf("rcode %s (unsigned)", dns.RcodeToString[msg.Rcode])
				}
				return nil, "", 0, errors.New("an unsigned message in a signed transfer")
			}
			if t.Error != 0 {
				return nil, "", 0, fmt.Errorf("TSIG error %s", dns.RcodeToString[int(t.Error)])
			}
			if err := dns.TsigVerify(b, s.key.secret, mac, !first); err != nil {
				return nil, "", 0, fmt.Errorf("TSIG: %w", err)
			}
			mac = t.MAC
		}
		if msg.Rcode != dns.RcodeSuccess {
			return nil, "", 0, fmt.Errorf("rcode %s", dns.RcodeToString[msg.Rcode])
		}
		if len(msg.Answer) == 0 {
			return nil, "", 0, errors.New("an empty message in the transfer")
		}
		for _, rr := range msg.Answer {
			if rd.done {
				return nil, "", 0, errors.New("records after the closing SOA")
			}
			if err := rd.feed(rr, s.origin); err != nil {
				return nil, "", 0, err
			}
		}
		if first && rd.ixfr && len(rd.rrs) == 1 {
			rd.done = true // the SOA alone: up to date (or IXFR refused in this form)
		}
	}
	return rd.result(s.origin, cur)
}

// ixfrReader follows a transfer stream to its end (RFC 1995 §4, RFC 5936 §2.2).
type ixfrReader struct {
	ixfr   bool
	have   uint32 // the serial asked from (IXFR)
	rrs    []dns.RR
	newest uint32
	form   int // 0 unknown, 1 AXFR form, 2 incremental
	inAdd  bool
	addSer uint32
	done   bool
}

func (r *ixfrReader) feed(rr dns.RR, origin string) error {
	soa, isSOA := rr.(*dns.SOA)
	if isSOA && dns.CanonicalName(soa.Hdr.Name) != origin {
		return fmt.Errorf("an SOA for %s in the transfer", soa.Hdr.Name)
	}
	r.rrs = append(r.rrs, rr)
	switch {
	case len(r.rrs) == 1:
		if !isSOA {
			return errors.New("the transfer does not start with the SOA")
		}
		r.newest = soa.Serial
	case r.form == 0:
		if r.ixfr && isSOA && soa.Serial == r.have && soa.Serial != r.newest {
			r.form = 2
		} else {
			r.form = 1
			if isSOA {
				r.done = true // a zone of one SOA: validation refuses it
			}
		}
	case r.form == 1:
		r.done = isSOA
	case isSOA && !r.inAdd:
		r.inAdd, r.addSer = true, soa.Serial
	case isSOA && r.inAdd:
		if soa.Serial == r.newest && r.addSer == r.newest {
			r.done = true
		} else {
			r.inAdd = false
		}
	}
	return nil
}

// result builds the zone from a finished stream.
func (r *ixfrReader) result(origin string, cur *zone.Zone) (*zone.Zone, string, int, error) {
	switch {
	case len(r.rrs) == 1:
		if cur != nil && !serialGreater(r.newest, cur.SOA().Serial) {
			return cur, "uptodate", 0, nil
		}
		return nil, "", 0, errors.New("the primary answered the SOA alone")
	case r.form == 1:
		z, err := zone.FromRRs(origin, r.rrs[:len(r.rrs)-1])
		if err != nil {
			return nil, "", 0, fmt.Errorf("the transferred zone is not valid: %w", err)
		}
		return z, "axfr", len(r.rrs) - 1, nil
	}
	z, err := applyIXFR(origin, cur, r.rrs)
	if err != nil {
		return nil, "", 0, err
	}
	return z, "ixfr", len(r.rrs), nil
}

// applyIXFR applies incremental sequences (rrs = SOA(new), then per version SOA(old),
// deletions, SOA(next), additions, then SOA(new)) to cur.
func applyIXFR(origin string, cur *zone.Zone, rrs []dns.RR) (*zone.Zone, error) {
	if cur == nil {
		return nil, errors.New("incremental transfer without a zone")
	}
	base := cur.RRs()
	list := make([]dns.RR, 0, len(base))
	index := map[string]int{}
	for _, rr := range base[1:] {
		index[rrKey(rr, false)] = len(list)
		list = append(list, rr)
	}
	serial := cur.SOA().Serial
	deleting := false // between SOA(old) and SOA(next)
	for _, rr := range rrs[1 : len(rrs)-1] {
		if soa, ok := rr.(*dns.SOA); ok {
			if !deleting && soa.Serial != serial {
				return nil, fmt.Errorf("IXFR sequence from serial %d, have %d", soa.Serial, serial)
			}
			if deleting {
				serial = soa.Serial
			}
			deleting = !deleting
			continue
		}
		k := rrKey(rr, false)
		if deleting {
			i, ok := index[k]
			if !ok {
				return nil, fmt.Errorf("IXFR deletes a record we do not have: %s", rr)
			}
			list[i] = nil
			delete(index, k)
			continue
		}
		if i, ok := index[k]; ok {
			list[i] = rr // the same record, maybe with a new TTL
			continue
		}
		index[k] = len(list)
		list = append(list, rr)
	}
	newest := rrs[0].(*dns.SOA)
	if serial != newest.Serial {
		return nil, fmt.Errorf("IXFR ends at serial %d, announced %d", serial, newest.Serial)
	}
	out := make([]dns.RR, 0, len(list)+1)
	out = append(out, newest)
	for _, rr := range list {
		if rr != nil {
			out = append(out, rr)
		}
	}
	z, err := zone.FromRRs(origin, out)
	if err != nil {
		return nil, fmt.Errorf("the zone after IXFR is not valid: %w", err)
	}
	return z, nil
}

// secondaryState is what DataDir/secondary/<zone>json keeps beside the zone copy.
type secondaryState struct {
	LastContact  time.Time `json:"last_contact"`
	LastTransfer time.Time `json:"last_transfer,omitzero"`
	Expired      bool      `json:"expired,omitempty"`
}

func (m *Manager) secondaryPath(s *zoneState, ext string) string {
	if m.dataDir == "" {
		return ""
	}
	return filepath.Join(m.dataDir, "secondary", fileName(s.origin)+ext)
}

// saveZone writes the zone copy as a master file, one record a line.
func (m *Manager) saveZone(s *zoneState, z *zone.Zone) error {
	p := m.secondaryPath(s, "zone")
	if p == "" {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "; %s transferred by lbdns, serial %d\n", s.origin, z.SOA().Serial)
	for _, rr := range z.RRs() {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return writeFileAtomic(p, b.Bytes())
}

func (m *Manager) saveState(s *zoneState) {
	p := m.secondaryPath(s, "json")
	if p == "" {
		return
	}
	s.mu.Lock()
	st := secondaryState{LastContact: s.lastContact, LastTransfer: s.lastIn, Expired: s.expired}
	s.mu.Unlock()
	b, _ := json.Marshal(st)
	if err := writeFileAtomic(p, b); err != nil {
		m.log.Error().Str("zone", s.origin).Err(err).Msg("xfr: cannot save the zone state")
	}
}

// loadSaved reads a secondary zone's saved copy, if any, so it is served before the primaries
// answer (unless it expired meanwhile).
func (m *Manager) loadSaved(s *zoneState) {
	m.m.expired.WithLabelValues(s.origin).Set(1)
	p := m.secondaryPath(s, "zone")
	if p == "" {
		return
	}
	if _, err := os.Stat(p); err != nil {
		return
	}
	z, err := zone.Load(s.origin, p)
	if err != nil {
		m.log.Error().Str("zone", s.origin).Err(err).Msg("xfr: the saved copy does not load; waiting for a transfer")
		return
	}
	var st secondaryState
	if b, err := os.ReadFile(m.secondaryPath(s, "json")); err == nil {
		json.Unmarshal(b, &st)
	}
	s.z, s.lastContact, s.lastIn = z, st.LastContact, st.LastTransfer
	_, _, exp := timers(z.SOA())
	s.expired = st.Expired || !m.now().Before(st.LastContact.Add(exp))
	if !s.expired {
		m.m.expired.WithLabelValues(s.origin).Set(0)
	}
	m.m.serial.WithLabelValues(s.origin).Set(float64(z.SOA().Serial))
	m.log.Info().Str("zone", s.origin).Uint32("serial", z.SOA().Serial).Time("last_contact", st.LastContact).
		Bool("expired", s.expired).Msg("xfr: loaded the saved copy of a secondary zone")
}
