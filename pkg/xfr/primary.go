package xfr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/zone"
)

// Journal bounds (ruling 39: an unknown or too old serial gets the whole zone).
const (
	maxJournal = 100 // entries
	// The journal holds at most journalFactor × the zone's record count: beyond that a full
	// zone transfer is cheaper than the increments.
	journalFactor = 2
)

// zoneState is one configured zone.
type zoneState struct {
	cfg       config.Zone
	origin    string // lowercase FQDN
	secondary bool
	key       *key // nil: no TSIG
	allow     []netip.Prefix
	primaries []netip.AddrPort
	notify    []netip.AddrPort
	kick      chan struct{} // NOTIFY in: refresh now

	mu sync.Mutex
	// Outgoing data (Publish).
	out        []dns.RR // SOA with the served serial first; nil: nothing to transfer
	outKeys    map[string]dns.RR
	hasServed  bool // servedSerial/servedDigest hold the last served state (this run or saved)
	servedSer  uint32
	servedDig  string
	journal    []delta
	journalRRs int
	lastOut    time.Time

	// Secondary side.
	z           *zone.Zone // the last good copy (served unless expired)
	expired     bool
	lastContact time.Time
	lastIn      time.Time
	nextRefresh time.Time
	lastErr     string
}

// delta is one journal entry: the change from one served serial to the next.
type delta struct {
	from, to *dns.SOA
	del, add []dns.RR
}

func (s *zoneState) served() *zone.Zone {
	if s.expired {
		return nil
	}
	return s.z
}

func (s *zoneState) status() ZoneStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ZoneStatus{Zone: s.origin, Role: Primary, Journal: len(s.journal), LastError: s.lastErr}
	for _, p := range s.allow {
		st.Transfers = append(st.Transfers, p.String())
	}
	if s.secondary {
		st.Role = Secondary
		st.Loaded, st.Expired = s.z != nil, s.expired
		if s.z != nil {
			st.Serial = s.z.SOA().Serial
		}
		st.LastTransfer, st.LastContact, st.NextRefresh = s.lastIn, s.lastContact, s.nextRefresh
		for _, p := range s.primaries {
			st.Primaries = append(st.Primaries, p.String())
		}
		return st
	}
	st.Loaded = s.out != nil
	if s.out != nil {
		st.Serial = s.out[0].(*dns.SOA).Serial
	}
	st.LastTransfer = s.lastOut
	for _, p := range s.notify {
		st.Notify = append(st.Notify, p.String())
	}
	return st
}

// Publish sets the data that transfers of origin carry: the zone's records with each load
// balancer's snapshot answer (see Outgoing), SOA first. Call it after every snapshot publish
// (and for a secondary zone whose data should be transferred onwards). When the data changed,
// ignoring the SOA serial, the served serial becomes max(the data's serial, last served + 1)
// (ruling 39), the change is journalled for IXFR and NOTIFY goes to also_notify. rrs == nil
// withdraws the data (transfers get SERVFAIL). The slice is not kept, the records are: do not
// modify them afterwards (zone records never are). It returns the served serial, which the
// zone's SOA in DNS answers must carry too (ok false: no data for origin).
func (m *Manager) Publish(origin string, rrs []dns.RR) (served uint32, ok bool) {
	s := m.zone(origin)
	if s == nil {
		m.log.Warn().Str("zone", origin).Msg("xfr: publish for a zone that is not configured")
		return 0, false
	}
	soaAt := -1
	for i, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			soaAt = i
			break
		}
	}
	s.mu.Lock()
	if soaAt < 0 {
		s.out, s.outKeys = nil, nil
		s.mu.Unlock()
		return 0, false
	}
	fileSOA := rrs[soaAt].(*dns.SOA)
	keys := make(map[string]dns.RR, len(rrs))
	list := make([]dns.RR, 0, len(rrs))
	list = append(list, nil) // the SOA
	for i, rr := range rrs {
		if i == soaAt || rr.Header().Rrtype == dns.TypeSOA {
			continue
		}
		k := rrKey(rr, true)
		if _, dup := keys[k]; dup {
			continue
		}
		keys[k] = rr
		list = append(list, rr)
	}
	soa0 := dns.Copy(fileSOA).(*dns.SOA)
	soa0.Serial = 0
	dig := digest(keys, soa0)

	changed := !s.hasServed || dig != s.servedDig || serialGreater(fileSOA.Serial, s.servedSer)
	serial := fileSOA.Serial
	if s.hasServed {
		switch {
		case serialGreater(fileSOA.Serial, s.servedSer):
		case changed:
			serial = s.servedSer + 1
		default:
			serial = s.servedSer
		}
	}
	soa := dns.Copy(fileSOA).(*dns.SOA)
	soa.Serial = serial
	list[0] = soa

	if changed && s.out != nil && s.outKeys != nil {
		d := delta{from: s.out[0].(*dns.SOA), to: soa}
		for _, rr := range s.out[1:] {
			if _, ok := keys[rrKey(rr, true)]; !ok {
				d.del = append(d.del, rr)
			}
		}
		for _, rr := range list[1:] {
			if _, ok := s.outKeys[rrKey(rr, true)]; !ok {
				d.add = append(d.add, rr)
			}
		}
		s.journal = append(s.journal, d)
		s.journalRRs += len(d.del) + len(d.add) + 2
		for len(s.journal) > maxJournal || (len(s.journal) > 0 && s.journalRRs > journalFactor*len(list)+4) {
			s.journalRRs -= len(s.journal[0].del) + len(s.journal[0].add) + 2
			s.journal = s.journal[1:]
		}
	} else if changed {
		s.journal, s.journalRRs = nil, 0 // no base to diff against
	}
	first := s.out == nil
	s.out, s.outKeys = list, keys
	saveNeeded := changed || !s.hasServed
	s.hasServed, s.servedSer, s.servedDig = true, serial, dig
	s.mu.Unlock()

	m.m.serial.WithLabelValues(s.origin).Set(float64(serial))
	if !changed {
		return serial, true
	}
	if saveNeeded {
		m.saveServed(s, serial, dig)
	}
	m.log.Info().Str("zone", s.origin).Uint32("serial", serial).Uint32("file_serial", fileSOA.Serial).Bool("first", first).
		Msg("xfr: outgoing data changed")
	if !s.secondary && len(s.notify) > 0 {
		m.queueNotify(s.origin)
	}
	return serial, true
}

// rrKey identifies a record: owner (lowercase), type, class, data, and the TTL when withTTL.
func rrKey(rr dns.RR, withTTL bool) string {
	h := rr.Header()
	data := strings.TrimPrefix(rr.String(), h.String())
	var b strings.Builder
	b.WriteString(strings.ToLower(h.Name))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(int(h.Rrtype)))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(int(h.Class)))
	if withTTL {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(uint64(h.Ttl), 10))
	}
	b.WriteByte(' ')
	b.WriteString(data)
	return b.String()
}

// digest is a hash of a data set, independent of record order.
func digest(keys map[string]dns.RR, soa *dns.SOA) string {
	ks := make([]string, 0, len(keys)+1)
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	h := sha256.New()
	h.Write([]byte(rrKey(soa, true)))
	for _, k := range ks {
		h.Write([]byte{'\n'})
		h.Write([]byte(k))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// serialGreater is a > b in serial number arithmetic (RFC 1982).
func serialGreater(a, b uint32) bool {
	return a != b && int32(a-b) > 0
}

// servedState is what DataDir/serials/<zone>json keeps: the serial served last and a digest
// of the data it named, so that a restart neither reuses a serial for other data nor moves it
// backwards.
type servedState struct {
	Serial uint32 `json:"serial"`
	Digest string `json:"digest"`
}

func (m *Manager) servedPath(s *zoneState) string {
	if m.dataDir == "" {
		return ""
	}
	return filepath.Join(m.dataDir, "serials", fileName(s.origin)+"json")
}

func (m *Manager) loadServed(s *zoneState) {
	p := m.servedPath(s)
	if p == "" {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if !os.IsNotExist(err) {
			m.log.Warn().Str("zone", s.origin).Err(err).Msg("xfr: cannot read the served serial")
		}
		return
	}
	var st servedState
	if err := json.Unmarshal(b, &st); err != nil {
		m.log.Warn().Str("zone", s.origin).Err(err).Msg("xfr: cannot read the served serial")
		return
	}
	s.hasServed, s.servedSer, s.servedDig = true, st.Serial, st.Digest
}

func (m *Manager) saveServed(s *zoneState, serial uint32, dig string) {
	p := m.servedPath(s)
	if p == "" {
		return
	}
	b, _ := json.Marshal(servedState{Serial: serial, Digest: dig})
	if err := writeFileAtomic(p, b); err != nil {
		m.log.Error().Str("zone", s.origin).Err(err).Msg("xfr: cannot save the served serial")
	}
}

// fileName turns a zone name into a file name: the lowercase FQDN ("example.com."), with
// characters other than letters, digits, '-', '_' and '.' escaped.
func fileName(origin string) string {
	var b strings.Builder
	for _, c := range []byte(strings.ToLower(origin)) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			b.WriteString("%" + strconv.FormatUint(uint64(c), 16))
		}
	}
	if b.Len() == 1 { // the root zone
		return "root."
	}
	return b.String()
}

// writeFileAtomic replaces path with data: a temporary file, fsync, rename, fsync of the dir.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
