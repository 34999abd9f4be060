package zone

import (
	"strings"

	"github.com/miekg/dns"
)

// Set is the zones served together. It is immutable; Find is safe for concurrent use.
type Set struct {
	byName map[string]*Zone // lowercase origin → zone
	zones  []*Zone
}

// NewSet indexes zones by name. With two zones of one name the later one wins.
func NewSet(zones ...*Zone) *Set {
	s := &Set{byName: make(map[string]*Zone, len(zones))}
	for _, z := range zones {
		if z == nil {
			continue
		}
		if _, dup := s.byName[z.lorigin]; !dup {
			s.zones = append(s.zones, z)
		} else {
			for i, o := range s.zones {
				if o.lorigin == z.lorigin {
					s.zones[i] = z
				}
			}
		}
		s.byName[z.lorigin] = z
	}
	return s
}

// Find returns the zone with the longest name that qname is at or below (case-insensitive),
// or nil when no zone holds qname (the server answers REFUSED).
func (s *Set) Find(qname string) *Zone {
	if s == nil || len(s.byName) == 0 {
		return nil
	}
	var buf [maxName]byte
	lname := lower(buf[:0], qname)
	for i := 0; i < len(lname); i = nextLabel(lname, i) {
		if z := s.byName[string(lname[i:])]; z != nil {
			return z
		}
	}
	return s.byName["."]
}

// Zones returns the zones of the set in the order given (a new slice).
func (s *Set) Zones() []*Zone {
	if s == nil {
		return nil
	}
	return append([]*Zone(nil), s.zones...)
}

// AddOtherZoneTargets adds to res.Extra the A/AAAA records of the MX and SRV targets in
// res.Answer that lie in another zone of the set than z (ruling 5: targets inside served
// zones get their addresses; z.Lookup adds those of its own zone), as z.Lookup does for its
// own: load-balanced targets are decided by dyn, which is handed the whole live reply (see
// lookupAdditional), here a copy made once when a target is found.
func (s *Set) AddOtherZoneTargets(z *Zone, res *Result, dyn Dynamic) {
	if s == nil || len(s.zones) < 2 || res.Rcode != dns.RcodeSuccess {
		return
	}
	na := len(res.Answer)
	var out []dns.RR
	var buf [maxName]byte
	for i, rr := range res.Answer {
		target := TargetOf(rr)
		if target == "" || seenTarget(res.Answer[:i], target) {
			continue
		}
		oz := s.Find(target)
		if oz == nil || oz == z || oz.apex == nil || hasAddrs(res.Extra, target) {
			continue // (a child zone's target may have come as glue from z)
		}
		if out == nil {
			out = make([]dns.RR, 0, na+len(res.Extra)+8)
			out = append(append(out, res.Answer...), res.Extra...)
		}
		out = oz.appendAddrs(out, lower(buf[:0], target), target, dyn)
	}
	if out != nil {
		res.Answer, res.Extra = out[:na:na], out[na:len(out):len(out)]
	}
}

// hasAddrs reports whether rrs hold an A or AAAA record of name.
func hasAddrs(rrs []dns.RR, name string) bool {
	for _, rr := range rrs {
		if h := rr.Header(); (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) && strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}
