// Package zone owns authoritative zone data: loading RFC 1035 master files (and record lists
// from transfers) with the checks a zone must pass, the immutable name tree, and the
// authoritative lookup — exact matches, NODATA and NXDOMAIN with the SOA, empty
// non-terminals, wildcards (RFC 4592), in-zone CNAME chains, referrals with glue, additional
// A/AAAA for NS/MX/SRV targets, minimal ANY (RFC 8482) — plus the load-balancer names
// ("marks") that hand a lookup to a Dynamic answerer. It imports only miekg/dns.
//
// A *Zone is immutable once built: Lookup is safe for concurrent use and, for a positive
// answer at a name spelled as in the zone, allocates nothing. Slices and records in a Result
// may be shared with the zone: callers must not modify them (appending is safe: shared
// slices have no spare capacity).
//
// Where the RFCs leave a choice the package does what Knot DNS 3.2 does (checked against a
// real knotd on the test zone in testdata/example.test.zone):
//
//   - Owner names of answers at the query name keep the query's spelling (0x20 case). Other
//     names keep the zone's spelling. (Knot's name compression also respells every name
//     ending in a suffix of the query name — SOA owner, NS targets, glue — in the query's
//     case; names are case-insensitive, RFC 4343, so a differential test against Knot must
//     compare those names case-insensitively.)
//   - Positive answers are minimal: no NS in the authority section. Additional A/AAAA are
//     given for in-zone targets of NS, MX and SRV records, from glue below delegations and
//     from wildcards too (owner = the target). An MX or SRV target that is a load-balanced
//     name gets its A/AAAA from Dynamic (ruling 5: what an A/AAAA query there would answer;
//     a CNAME it answers is left out, types it does not own come from the zone), never the
//     zone's addresses that the load balancer beats; such answers are computed per lookup,
//     the others are shared with the zone. NS targets at load-balanced names are left out.
//   - NODATA and NXDOMAIN carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3).
//   - A CNAME chain inside the zone is followed for at most MaxChain (5) CNAMEs; the name
//     after them is answered unless it is a CNAME too. A name seen twice ends the chain (the
//     answer holds the chain, NOERROR). A chain ending at a name that does not exist answers
//     NXDOMAIN with the chain (RFC 6604), one ending at a name without the type answers
//     NODATA with the chain and the SOA, one entering a delegation answers the chain plus the
//     referral with AA set (Kind Delegation, AA true).
//   - Referrals (no AA) carry the NS set in authority and the A/AAAA of every NS target in
//     the zone in additional; NS queries at a delegation get the referral; DS queries at a
//     delegation are answered from this (parent) side: the DS set, or NODATA.
//   - ANY returns one RRset (RFC 8482 §4.2), over UDP and TCP alike: the set with the lowest
//     type number at the name (Knot answers A at an apex with SOA, NS, MX, A, TXT); at a CNAME
//     it is the CNAME, not followed.
//   - A wildcard answer uses the query name as owner; wildcards match any number of labels
//     below their parent; existing names (including empty non-terminals) block them.
//   - DNAME (RFC 6672): a name below a DNAME gets the DNAME (once) and a synthesised CNAME
//     (TTL of the DNAME; the substituted labels lowercased, as Knot), followed like a CNAME
//     (also for ANY; a CNAME query stops there) and counted in MaxChain; a substitution too
//     long for a name answers YXDOMAIN (Kind ServFail). Data below a DNAME is a load error.
//   - A name outside the zone gets Kind ServFail with Rcode REFUSED (Set.Find comes first).
//
// Load-balanced names (WithMarks, ruling 21): a marked node — the exact name, or the
// wildcard node that matched — is offered to Dynamic.Answer first; what it owns is the
// answer (a CNAME it returns is followed in the zone like a zone CNAME), what it does not
// own comes from the zone data at the node. An existing unmarked name is never answered by a
// wildcard load balancer. ANY at a marked node is the load balancer's A answer, or the
// zone's minimal answer when that is empty.
package zone

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Zone is one authoritative zone: its records and an immutable name tree over them.
type Zone struct {
	origin  string // as given, fully qualified
	lorigin string // lowercase
	apex    *node
	soa     *dns.SOA
	negNs   []dns.RR // the SOA with the negative TTL, for NODATA/NXDOMAIN
	nodes   map[string]*node
	records []dns.RR // every record in load order, SOA first
}

// node is one name of the tree. Empty non-terminals are nodes without sets.
type node struct {
	name   string  // owner as first written in the data
	sets   []rrset // sorted by type
	wild   *node   // the "*." child, if any
	cut    bool    // NS at a name other than the apex: a delegation point
	marked bool
	mark   int
}

// rrset is the records of one type at one node. rrs and extra have len == cap so a caller
// appending to them never writes into the zone.
type rrset struct {
	typ   uint16
	rrs   []dns.RR
	extra []dns.RR // additional A/AAAA for NS/MX/SRV targets in the zone (LB names left out)
	// lbTargets: an MX/SRV target is a load-balanced name, so Lookup computes the
	// additional section per query (lookupAdditional); extra is what a minimal ANY answer
	// gets.
	lbTargets bool
}

func (n *node) set(t uint16) *rrset {
	for i := range n.sets {
		if n.sets[i].typ == t {
			return &n.sets[i]
		}
	}
	return nil
}

// Origin returns the zone's name (fully qualified, as given to Load).
func (z *Zone) Origin() string { return z.origin }

// SOA returns the zone's SOA record (shared; do not modify).
func (z *Zone) SOA() *dns.SOA { return z.soa }

// Unavailable returns a zone that has no data: every lookup in it answers SERVFAIL. It stands
// for a secondary zone never transferred or expired (ruling 40), so names in it are neither
// REFUSED nor answered from stale data.
func Unavailable(origin string) *Zone {
	origin = dns.Fqdn(origin)
	return &Zone{origin: origin, lorigin: strings.ToLower(origin)}
}

// Available reports whether the zone has data (false for Unavailable zones).
func (z *Zone) Available() bool { return z.apex != nil }

// RRs returns all records of the zone, SOA first, in load order (for AXFR out). The slice is
// new; the records are shared. Load-balancer marks add no records.
func (z *Zone) RRs() []dns.RR { return slices.Clone(z.records) }

// Error is one problem found while loading a zone.
type Error struct {
	File string // empty for records that did not come from a file
	Line int    // 0 when the problem has no single line
	Msg  string
}

func (e Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every problem found while loading a zone, one per line in Error().
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// pos is where a record came from.
type pos struct {
	file string
	line int
}

// FromRRs builds a zone from records (a zone transfer), with the same checks as Load.
func FromRRs(origin string, rrs []dns.RR) (*Zone, error) {
	return build(origin, rrs, nil, "", nil)
}

// build checks and indexes the records. positions (parallel to rrs, or nil) place errors;
// file names whole-zone problems.
func build(origin string, rrs []dns.RR, positions []pos, file string, marks map[string]int) (*Zone, error) {
	if _, ok := dns.IsDomainName(origin); !ok || origin == "" {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("invalid zone name %q", origin)}}
	}
	origin = dns.Fqdn(origin)
	z := &Zone{origin: origin, lorigin: lowerString(origin), nodes: make(map[string]*node)}
	type problem struct {
		seq int // record index, for a stable order; len(rrs) for whole-zone problems
		err Error
	}
	var probs []problem
	at := func(i int) (string, int) {
		if positions != nil && i < len(positions) {
			return positions[i].file, positions[i].line
		}
		return "", 0
	}
	report := func(i int, format string, args ...any) {
		f, l := at(i)
		probs = append(probs, problem{i, Error{File: f, Line: l, Msg: fmt.Sprintf(format, args...)}})
	}
	where := func(i int) string {
		f, l := at(i)
		if f == "" {
			return fmt.Sprintf("record %d", i+1)
		}
		return fmt.Sprintf("%s:%d", f, l)
	}

	// Pass 1: records one by one.
	var dup dedup
	soaAt := -1
	var kept []int // indexes of records that go into the tree
	for i, rr := range rrs {
		if rr == nil {
			continue
		}
		h := rr.Header()
		lname := lowerString(h.Name)
		switch {
		case h.Class != dns.ClassINET:
			report(i, "%s: class %s is not supported (only IN)", h.Name, dns.Class(h.Class))
			continue
		case !isSubdomain(lname, z.lorigin):
			report(i, "%s is outside the zone %s", h.Name, origin)
			continue
		case !wellTyped(rr):
			report(i, "%s: malformed %s record", h.Name, dns.Type(h.Rrtype))
			continue
		case h.Rrtype == dns.TypeSOA && lname != z.lorigin:
			report(i, "SOA record at %s, not at the zone apex %s", h.Name, origin)
			continue
		case h.Rrtype == dns.TypeSOA && soaAt >= 0:
			if dns.IsDuplicate(rr, rrs[soaAt]) {
				continue // an AXFR ends with the SOA again
			}
			report(i, "duplicate SOA record (first at %s)", where(soaAt))
			continue
		case h.Rrtype == dns.TypeSOA:
			soaAt = i
		}
		n := z.nodes[lname]
		if n == nil {
			n = &node{name: h.Name}
			z.nodes[lname] = n
		}
		s := n.set(h.Rrtype)
		if s == nil {
			n.sets = append(n.sets, rrset{typ: h.Rrtype})
			s = &n.sets[len(n.sets)-1]
		}
		if dup.seen(s, rr) {
			continue // RFC 2181 §5: an RRset has no duplicates
		}
		s.rrs = append(s.rrs, rr)
		kept = append(kept, i)
	}
	z.apex = z.nodes[z.lorigin]
	if soaAt < 0 {
		probs = append(probs, problem{len(rrs), Error{File: file, Msg: fmt.Sprintf("no SOA record at the zone apex %s", origin)}})
	} else {
		z.soa = rrs[soaAt].(*dns.SOA)
		neg := dns.Copy(z.soa).(*dns.SOA)
		neg.Hdr.Ttl = min(neg.Hdr.Ttl, neg.Minttl)
		z.negNs = []dns.RR{neg}
	}
	if z.apex == nil || z.apex.set(dns.TypeNS) == nil {
		probs = append(probs, problem{len(rrs), Error{File: file, Msg: fmt.Sprintf("no NS records at the zone apex %s", origin)}})
	}

	// Delegation points and the names that glue may use.
	nsTargets := map[string]bool{}
	for lname, n := range z.nodes {
		if s := n.set(dns.TypeNS); s != nil {
			n.cut = lname != z.lorigin
			for _, rr := range s.rrs {
				nsTargets[lowerString(rr.(*dns.NS).Ns)] = true
			}
		}
	}

	// Pass 2: records against their neighbours.
	cnameReported := map[*node]bool{}
	for _, i := range kept {
		rr := rrs[i]
		h := rr.Header()
		lname := lowerString(h.Name)
		n := z.nodes[lname]
		if h.Rrtype == dns.TypeCNAME {
			if n == z.apex {
				report(i, "CNAME at the zone apex %s", origin)
			} else if s := n.set(dns.TypeCNAME); len(s.rrs) > 1 && s.rrs[0] != rr {
				report(i, "more than one CNAME at %s", h.Name)
			}
		}
		if h.Rrtype != dns.TypeCNAME && coexists(h.Rrtype) && n != z.apex && !cnameReported[n] && n.set(dns.TypeCNAME) != nil {
			cnameReported[n] = true
			var other []string
			for _, s := range n.sets {
				if coexists(s.typ) && s.typ != dns.TypeCNAME {
					other = append(other, dns.Type(s.typ).String())
				}
			}
			report(i, "CNAME and other data at %s (%s)", h.Name, strings.Join(other, ", "))
		}
		if h.Rrtype == dns.TypeDNAME {
			if s := n.set(dns.TypeDNAME); len(s.rrs) > 1 && s.rrs[0] != rr {
				report(i, "more than one DNAME at %s", h.Name)
			}
		}
		if d := z.dnameAbove(lname); d != nil {
			report(i, "%s %s is occluded by the DNAME at %s", h.Name, dns.Type(h.Rrtype).String(), d.name)
		}
		// Occlusion: anything at or below a delegation point other than the delegation
		// itself (NS, DS) and glue (A/AAAA of NS targets).
		if cut := z.cutAbove(lname); cut != nil {
			glue := (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) && nsTargets[lname]
			atCut := cut == n && (h.Rrtype == dns.TypeNS || h.Rrtype == dns.TypeDS || h.Rrtype == dns.TypeRRSIG || h.Rrtype == dns.TypeNSEC)
			if !glue && !atCut {
				report(i, "%s %s is occluded by the delegation at %s", h.Name, dns.Type(h.Rrtype).String(), cut.name)
			}
		}
	}

	// Marks (load-balanced names).
	if len(marks) > 0 {
		names := make([]string, 0, len(marks))
		for name := range marks {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			lname := lowerString(name)
			switch {
			case !isSubdomain(lname, z.lorigin):
				probs = append(probs, problem{len(rrs), Error{File: file, Msg: fmt.Sprintf("load balancer %s is outside the zone %s", name, origin)}})
				continue
			case z.dnameAbove(lname) != nil:
				probs = append(probs, problem{len(rrs), Error{File: file, Msg: fmt.Sprintf("load balancer %s is below the DNAME at %s", name, z.dnameAbove(lname).name)}})
				continue
			case z.cutAbove(lname) != nil:
				probs = append(probs, problem{len(rrs), Error{File: file, Msg: fmt.Sprintf("load balancer %s is at or below the delegation at %s", name, z.cutAbove(lname).name)}})
				continue
			}
			n := z.nodes[lname]
			if n == nil {
				n = &node{name: lname}
				z.nodes[lname] = n
			}
			n.marked, n.mark = true, marks[name]
		}
	}

	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b problem) int { return cmp.Compare(a.seq, b.seq) })
		errs := make(Errors, len(probs))
		for i, p := range probs {
			errs[i] = p.err
		}
		return nil, errs
	}

	// Empty non-terminals and wildcard links.
	for lname, n := range z.nodes {
		name, lp := n.name, lname
		for first := true; lp != z.lorigin; first = false {
			name, lp = parentOf(name), parentOf(lp)
			if lp == "" {
				break
			}
			p := z.nodes[lp]
			if p == nil {
				p = &node{name: name}
				z.nodes[lp] = p
			}
			if first && isWildcard(lname) {
				p.wild = n
			}
		}
	}
	for _, n := range z.nodes {
		slices.SortFunc(n.sets, func(a, b rrset) int { return cmp.Compare(a.typ, b.typ) })
	}
	for _, n := range z.nodes {
		for i := range n.sets {
			s := &n.sets[i]
			s.rrs = slices.Clip(s.rrs)
			s.extra, s.lbTargets = z.additional(s.rrs)
		}
	}

	z.records = make([]dns.RR, 0, len(kept))
	z.records = append(z.records, z.soa)
	for _, i := range kept {
		if i != soaAt {
			z.records = append(z.records, rrs[i])
		}
	}
	return z, nil
}

// dedup finds duplicate records in an RRset: by comparison in small sets, by a key in
// large ones (a $GENERATE can make a set of 65536 records).
type dedup struct {
	keys map[string]bool
}

const smallSet = 32

func (d *dedup) seen(s *rrset, rr dns.RR) bool {
	if len(s.rrs) < smallSet {
		return slices.ContainsFunc(s.rrs, func(o dns.RR) bool { return dns.IsDuplicate(o, rr) })
	}
	if d.keys == nil {
		d.keys = map[string]bool{}
	}
	if len(s.rrs) == smallSet {
		for _, o := range s.rrs {
			d.keys[dedupKey(o)] = true
		}
	}
	k := dedupKey(rr)
	if d.keys[k] {
		return true
	}
	d.keys[k] = true
	return false
}

// dedupKey is the record without its TTL, owner lowercased.
func dedupKey(rr dns.RR) string {
	c := dns.Copy(rr)
	c.Header().Ttl = 0
	c.Header().Name = lowerString(c.Header().Name)
	return c.String()
}

// wellTyped reports whether the types the tree reads have their Go type (a generic
// RFC 3597 record of such a type would not).
func wellTyped(rr dns.RR) bool {
	var ok bool
	switch rr.Header().Rrtype {
	case dns.TypeSOA:
		_, ok = rr.(*dns.SOA)
	case dns.TypeNS:
		_, ok = rr.(*dns.NS)
	case dns.TypeCNAME:
		_, ok = rr.(*dns.CNAME)
	case dns.TypeMX:
		_, ok = rr.(*dns.MX)
	case dns.TypeSRV:
		_, ok = rr.(*dns.SRV)
	case dns.TypeDNAME:
		_, ok = rr.(*dns.DNAME)
	default:
		ok = true
	}
	return ok
}

// coexists reports whether t counts as "other data" next to a CNAME (DNSSEC types may
// share a name with a CNAME, RFC 4035 §2.5).
func coexists(t uint16) bool {
	switch t {
	case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
		return false
	}
	return true
}

// cutAbove returns the highest delegation point at or above lname (inside the zone), if any.
func (z *Zone) cutAbove(lname string) *node {
	var top *node
	for lp := lname; lp != "" && lp != z.lorigin; lp = parentOf(lp) {
		if n := z.nodes[lp]; n != nil && n.cut {
			top = n
		}
	}
	return top
}

// dnameAbove returns a DNAME node strictly above lname inside the zone, if any.
func (z *Zone) dnameAbove(lname string) *node {
	if lname == z.lorigin {
		return nil
	}
	for lp := parentOf(lname); lp != ""; lp = parentOf(lp) {
		if n := z.nodes[lp]; n != nil && n.set(dns.TypeDNAME) != nil {
			return n
		}
		if lp == z.lorigin {
			break
		}
	}
	return nil
}

// additional returns the A/AAAA records at the in-zone targets of NS, MX and SRV records,
// in target order, each target once. Targets that are load-balanced names are left out: their
// addresses come from the load balancer at lookup time (lookupAdditional); lb reports
// whether an MX or SRV target is one. (NS targets at LB names stay left out: glue is static.)
func (z *Zone) additional(rrs []dns.RR) (out []dns.RR, lb bool) {
	var seen []string
	for _, rr := range rrs {
		var target string
		switch rr := rr.(type) {
		case *dns.NS:
			target = rr.Ns
		case *dns.MX:
			target = rr.Mx
		case *dns.SRV:
			target = rr.Target
		default:
			return nil, false
		}
		lt := lowerString(target)
		if slices.Contains(seen, lt) || !isSubdomain(lt, z.lorigin) {
			continue
		}
		seen = append(seen, lt)
		n, wild := z.addressNode(lt)
		if n == nil {
			continue
		}
		if n.marked {
			lb = lb || rr.Header().Rrtype != dns.TypeNS
			continue
		}
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			if s := n.set(t); s != nil {
				out = appendOwned(out, s.rrs, n.name, target, wild)
			}
		}
	}
	return slices.Clip(out), lb
}

// addressNode returns the node whose A/AAAA records answer for the lowercase name lt in
// additional processing: the name itself (glue below a delegation included) or, as Knot,
// the wildcard of its closest encloser outside delegations.
func (z *Zone) addressNode(lt string) (n *node, wild bool) {
	if n := z.nodes[lt]; n != nil {
		return n, false
	}
	for lp := parentOf(lt); lp != ""; lp = parentOf(lp) {
		if ce := z.nodes[lp]; ce != nil {
			if ce.wild == nil || z.cutAbove(lp) != nil {
				return nil, false
			}
			return ce.wild, true
		}
	}
	return nil, false
}

// WithMarks returns a copy of z in which the given names (fully qualified; "*." first label
// for wildcard load balancers) are marked nodes: Lookup hands them to its Dynamic. Names
// that do not exist are added (with the empty non-terminals above them). A name outside the
// zone, or at or below a delegation point, is an error. z itself is not changed; marks z
// already had are replaced, not added to.
func (z *Zone) WithMarks(marks map[string]int) (*Zone, error) {
	return build(z.origin, z.records, nil, z.origin, marks)
}
