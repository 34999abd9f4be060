package zone

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
