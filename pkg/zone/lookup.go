package zone

import (
	"strings"

	"github.com/miekg/dns"
)

// Kind is what a lookup found.
type Kind uint8

const (
	Success    Kind = iota // the answer holds the data (or a CNAME chain leaving the zone)
	NoData                 // the name exists without the type: SOA in authority
	NXDomain               // the name does not exist: SOA in authority, rcode NXDOMAIN
	Delegation             // a referral: NS in authority, glue in additional
	ServFail               // not answerable here (Rcode says SERVFAIL or REFUSED)
)

func (k Kind) String() string {
	switch k {
	case Success:
		return "success"
	case NoData:
		return "nodata"
	case NXDomain:
		return "nxdomain"
	case Delegation:
		return "delegation"
	}
	return "servfail"
}

// MaxChain is the most CNAME records a lookup follows inside the zone, as Knot: after that
// many the next name is answered only if it is not a CNAME itself.
const MaxChain = 5

// Result is the outcome of a Lookup: the sections of the reply, its rcode and AA flag.
// The slices and records may be shared with the zone (read-only; see the package doc).
type Result struct {
	Kind              Kind
	Rcode             int
	Answer, Ns, Extra []dns.RR
	AA                bool // authoritative answer (false for referrals and failures)
}

// Dynamic is how load balancers enter a lookup (see DESIGN.md).
type Dynamic interface {
	// Answer is called when the lookup reaches a node marked with mark (exact LB name, or the
	// wildcard LB node that matched). owner is the name being answered. It appends the LB's
	// records for qtype to dst and returns owns=true, or owns=false when the LB does not own
	// qtype: then zone data is used. owns=true with nothing appended = NODATA.
	Answer(mark int, owner string, qtype uint16, dst []dns.RR) (out []dns.RR, owns bool)
}

// match is where a name leads in the tree.
type match struct {
	node  *node // the exact node, or the wildcard node that matched; nil: no such name
	wild  bool
	cut   *node // a delegation on the way: answer with a referral
	dname *node // a DNAME above the name (RFC 6672): substitute the suffix
	split int   // with dname: where its owner starts in the name
}

// find descends from the apex to lname (lowercase, inside the zone).
func (z *Zone) find(lname []byte, qtype uint16) match {
	var starts [maxLabels]int
	apexOff := apexOffset(lname, z.lorigin)
	n := 0
	for i := 0; i < apexOff; i = nextLabel(lname, i) {
		if n == len(starts) {
			return match{}
		}
		starts[n] = i
		n++
	}
	cur := z.apex
	for k := n - 1; k >= 0; k-- {
		child := z.nodes[string(lname[starts[k]:])]
		if child == nil {
			// cur is the closest encloser (RFC 4592 §3.3.1); its wildcard, if any, answers.
			if w := cur.wild; w != nil {
				if w.cut {
					return match{cut: w}
				}
				return match{node: w, wild: true}
			}
			return match{}
		}
		cur = child
		if cur.cut && !(k == 0 && qtype == dns.TypeDS) {
			return match{cut: cur}
		}
		if k > 0 && cur.set(dns.TypeDNAME) != nil {
			return match{dname: cur, split: starts[k]}
		}
	}
	return match{node: cur}
}

// Lookup answers qname/qtype from the zone. qname must be inside the zone (see Set.Find);
// a name outside it gets Kind ServFail with Rcode REFUSED. dyn answers load-balanced names
// (nil: marks are ignored). See the package doc for the choices made.
func (z *Zone) Lookup(qname string, qtype uint16, dyn Dynamic) Result {
	if !dns.IsFqdn(qname) {
		qname = dns.Fqdn(qname) // owner names in answers must be fully qualified
	}
	var buf [maxName]byte
	lname := lower(buf[:0], qname)
	if !isSubdomain(lname, z.lorigin) {
		return Result{Kind: ServFail, Rcode: dns.RcodeRefused}
	}
	if z.apex == nil { // Unavailable: a secondary zone not (or no longer) loaded
		return Result{Kind: ServFail, Rcode: dns.RcodeServerFailure}
	}
	var res Result
	res.AA = true
	owner := qname
	var seen [MaxChain + 1]*node
	for hop := 0; hop <= MaxChain; hop++ {
		m := z.find(lname, qtype)
		if m.cut != nil {
			ns := m.cut.set(dns.TypeNS)
			res.Kind, res.Rcode, res.Ns, res.Extra = Delegation, dns.RcodeSuccess, ns.rrs, ns.extra
			res.AA = len(res.Answer) > 0 // Knot keeps AA when a CNAME chain led here
			return res
		}
		if m.dname != nil {
			if hop == MaxChain {
				return res // one CNAME too many: the chain ends before it
			}
			target, ok := z.synthesize(&res, m.dname, owner, string(lname[:m.split]))
			if !ok || qtype == dns.TypeCNAME {
				return res
			}
			owner = target
			lname = lower(buf[:0], target)
			if !isSubdomain(lname, z.lorigin) {
				return res
			}
			continue
		}
		if m.node == nil {
			res.Kind, res.Rcode, res.Ns = NXDomain, dns.RcodeNameError, z.negNs
			return res
		}
		n := m.node
		for _, s := range seen[:hop] {
			if s == n {
				return res // a loop: the chain so far (Knot answers NOERROR)
			}
		}
		seen[hop] = n

		before := len(res.Answer)
		target, done := z.answerAt(&res, n, owner, qtype, dyn, m.wild)
		if done {
			return res
		}
		if hop == MaxChain {
			res.Answer = res.Answer[:before] // one CNAME too many: the chain ends before it
			return res
		}
		owner = target
		lname = lower(buf[:0], target)
		if !isSubdomain(lname, z.lorigin) {
			return res // the chain leaves the zone; the resolver follows it
		}
	}
	return res
}

// synthesize answers owner below the DNAME at d (RFC 6672 §3.1): the DNAME (once per
// answer, as Knot) and a CNAME from owner to prefix (owner's labels below d, lowercased as
// Knot does) + the DNAME target. A result too long to be a name is YXDOMAIN.
func (z *Zone) synthesize(res *Result, d *node, owner, prefix string) (string, bool) {
	ds := d.set(dns.TypeDNAME)
	dname := ds.rrs[0].(*dns.DNAME)
	present := false
	for _, rr := range res.Answer {
		present = present || rr == ds.rrs[0]
	}
	if !present {
		res.Answer = append(res.Answer, ds.rrs...)
	}
	target := prefix + dname.Target
	if dname.Target == "." {
		target = prefix
	}
	if _, ok := dns.IsDomainName(target); !ok {
		res.Kind, res.Rcode = ServFail, dns.RcodeYXDomain
		return "", false
	}
	res.Answer = append(res.Answer, &dns.CNAME{
		Hdr:    dns.RR_Header{Name: owner, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: dname.Hdr.Ttl},
		Target: target,
	})
	res.Kind, res.Rcode = Success, dns.RcodeSuccess
	return target, true
}

// answerAt fills res from node n for owner. It returns done=false with the CNAME target
// when the lookup must continue there.
func (z *Zone) answerAt(res *Result, n *node, owner string, qtype uint16, dyn Dynamic, wild bool) (target string, done bool) {
	if n.marked && dyn != nil {
		qt := qtype
		if qtype == dns.TypeANY {
			qt = dns.TypeA // the minimal ANY answer of an LB name is its A answer
		}
		before := len(res.Answer)
		out, owns := dyn.Answer(n.mark, owner, qt, res.Answer)
		if owns && (len(out) > before || qtype != dns.TypeANY) {
			res.Answer = out
			if len(out) == before {
				z.noData(res)
				return "", true
			}
			last := out[len(out)-1]
			if c, ok := last.(*dns.CNAME); ok && qtype != dns.TypeCNAME && qtype != dns.TypeANY {
				return c.Target, false
			}
			res.Kind, res.Rcode = Success, dns.RcodeSuccess
			if qtype == dns.TypeMX || qtype == dns.TypeSRV {
				z.lookupAdditional(res, out[before:], dyn)
			}
			return "", true
		}
	}

	if qtype != dns.TypeCNAME && qtype != dns.TypeANY {
		if c := n.set(dns.TypeCNAME); c != nil {
			res.Answer = appendOwned(res.Answer, c.rrs, n.name, owner, wild)
			return c.rrs[0].(*dns.CNAME).Target, false
		}
	}
	var s *rrset
	if qtype == dns.TypeANY {
		if len(n.sets) > 0 {
			s = &n.sets[0] // RFC 8482: one RRset; the lowest type, as Knot
		}
	} else {
		s = n.set(qtype)
	}
	if s == nil {
		z.noData(res)
		return "", true
	}
	res.Answer = appendOwned(res.Answer, s.rrs, n.name, owner, wild)
	res.Kind, res.Rcode, res.Extra = Success, dns.RcodeSuccess, s.extra
	if s.lbTargets && qtype != dns.TypeANY {
		z.lookupAdditional(res, s.rrs, dyn) // some target is an LB name: ask it (nil: zone data)
	}
	return "", true
}

// lookupAdditional sets res.Extra to the A/AAAA records of the in-zone targets of the MX or
// SRV records rrs (part of res.Answer), in target order, each target once (ruling 5). A
// target that is a load-balanced name gets what dyn answers for A and AAAA there, as an
// A/AAAA query at that name would (a CNAME it answers is left out: the resolver asks); the
// types the LB does not own come from the zone data (all of them when dyn is nil: marks are
// ignored, as in Lookup). Dynamic records are appended after
// res.Answer, so a Dynamic that keeps its records in a reusable buffer (pkg/server) sees
// the whole live reply and adds nothing to the allocations; res.Answer is clipped so that
// appending to it never overwrites the additional records. Any client dependence of those
// decisions (ECS scope) is recorded by dyn, as for answers. NS records are never passed.
func (z *Zone) lookupAdditional(res *Result, rrs []dns.RR, dyn Dynamic) {
	na := len(res.Answer)
	out := res.Answer
	var buf [maxName]byte
	for i, rr := range rrs {
		target := TargetOf(rr)
		if target == "" || seenTarget(rrs[:i], target) {
			continue
		}
		if lt := lower(buf[:0], target); isSubdomain(lt, z.lorigin) {
			out = z.appendAddrs(out, lt, target, dyn)
		}
	}
	res.Answer = res.Answer[:na:na]
	res.Extra = nil
	if len(out) > na {
		res.Extra = out[na:len(out):len(out)]
	}
}

// appendAddrs appends the A and AAAA records of target (lt: its lowercase form, inside the
// zone) to out, for an additional section: from its load balancer when it is a load-balanced
// name (dyn set; a CNAME it decides is left out), else from the zone data (a wildcard
// synthesised for target).
func (z *Zone) appendAddrs(out []dns.RR, lt []byte, target string, dyn Dynamic) []dns.RR {
	n, wild := z.addressNodeOf(lt)
	if n == nil {
		return out
	}
	for _, t := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		if n.marked && dyn != nil {
			k := len(out)
			got, owns := dyn.Answer(n.mark, target, t, out)
			if owns {
				// Keep only records of the type: never a CNAME in the additional section.
				// The slots from k on are new (after the live reply), so filtering in
				// place overwrites nothing in use.
				kept := k
				for _, x := range got[k:] {
					if x.Header().Rrtype == t {
						got[kept] = x
						kept++
					}
				}
				out = got[:kept]
				continue
			}
			out = got
		}
		if s := n.set(t); s != nil {
			out = appendOwned(out, s.rrs, n.name, target, wild)
		}
	}
	return out
}

// TargetOf returns the target name of an MX or SRV record ("" for other types).
func TargetOf(rr dns.RR) string {
	switch rr := rr.(type) {
	case *dns.MX:
		return rr.Mx
	case *dns.SRV:
		return rr.Target
	}
	return ""
}

// seenTarget reports whether an MX/SRV record in rrs has target (case-insensitively).
func seenTarget(rrs []dns.RR, target string) bool {
	for _, rr := range rrs {
		if strings.EqualFold(TargetOf(rr), target) {
			return true
		}
	}
	return false
}

// addressNodeOf is addressNode for a name in a lookup buffer (allocates nothing): the node
// itself (glue below a delegation included), else the wildcard that a lookup there matches.
func (z *Zone) addressNodeOf(lt []byte) (*node, bool) {
	if n := z.nodes[string(lt)]; n != nil {
		return n, false
	}
	if m := z.find(lt, dns.TypeA); m.node != nil && m.wild {
		return m.node, true
	}
	return nil, false
}

func (z *Zone) noData(res *Result) {
	res.Kind, res.Rcode, res.Ns = NoData, dns.RcodeSuccess, z.negNs
}

// appendOwned appends rrs to dst with owner as their owner name. Records already spelled
// as owner are shared; others (wildcard synthesis, another case) are copied.
func appendOwned(dst, rrs []dns.RR, name, owner string, wild bool) []dns.RR {
	if !wild && name == owner {
		if len(dst) == 0 {
			return rrs // shared, len == cap
		}
		return append(dst, rrs...)
	}
	if dst == nil {
		dst = make([]dns.RR, 0, len(rrs))
	}
	for _, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		dst = append(dst, c)
	}
	return dst
}
