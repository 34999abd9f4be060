package steer

import (
	"strings"

	"github.com/lbdns/lbdns/pkg/rules"
)

// rules evaluates the LB's rules in order and applies the overrides of the matching ones into
// d.v (ruling 18): later matches overwrite earlier ones, a matching terminating rule stops.
func (d *decider) rules() {
	lb, q, tr := d.lb, d.q, d.tr
	var all rules.Uses
	for i := range lb.Rules {
		all |= condUses(lb.Rules[i].cond)
	}
	var f fields
	f.LBName = strings.TrimSuffix(lb.Name, ".")
	f.LBRegion = d.s.pop.Region
	f.QName, f.QType, f.QU = q.Name, q.Type, true
	f.Src = q.Source
	if q.HasECS {
		f.ECS, f.ECSAddr, f.Src = true, q.ECS.Addr(), q.ECS.Addr()
	}
	var geoBits int
	if all&(rules.UsesGeo|rules.UsesASN) != 0 {
		if loc, ok := d.lookup(f.Src); ok {
			f.Country, f.Continent, f.Subdivision, f.ASN = loc.Country, loc.Continent, loc.Subdivision, loc.ASN
			if loc.Prefix.IsValid() {
				geoBits = loc.Prefix.Bits()
			}
			if tr != nil {
				tr.addf("rules: ip.src %s, GeoIP record %s: country %s, subdivision %s, continent %s, AS%d",
					f.Src, prefixOrDash(loc.Prefix), orDash(loc.Country), orDash(loc.Subdivision), orDash(loc.Continent), loc.ASN)
			}
		} else if tr != nil {
			tr.addf("rules: ip.src %s has no GeoIP record", f.Src)
		}
	}
	for i := range lb.Rules {
		r := &lb.Rules[i]
		u := condUses(r.cond)
		if q.HasECS {
			// ip.src is the ECS address: the answer depends on the client subnet.
			if u&(rules.UsesSrc|rules.UsesECS) != 0 {
				d.addScope(d.ecsBits())
			}
			if u&(rules.UsesGeo|rules.UsesASN) != 0 {
				if geoBits > 0 {
					d.addScope(geoBits)
				} else {
					d.addScope(d.ecsBits())
				}
			}
		}
		m := condEval(r.cond, &f)
		if tr != nil {
			d.traceRule(r, m)
		}
		if m {
			d.v.apply(r.Mask, &r.Overrides)
			if r.Terminates {
				break
			}
		}
	}
}

func (d *decider) traceRule(r *Rule, matched bool) {
	var b strings.Builder
	b.WriteString("rule ")
	if r.Name != "" {
		b.WriteString(`"` + r.Name + `" `)
	}
	b.WriteString("(priority " + sprintf("%d", r.Priority) + ", condition " + sprintf("%q", r.Condition) + "): ")
	if !matched {
		b.WriteString("no match")
		d.tr.add(b.String())
		return
	}
	b.WriteString("matched")
	if r.Mask != 0 {
		b.WriteString(", overrides")
		for i, n := range overrideNames {
			if r.Mask&(1<<i) != 0 {
				b.WriteString(" " + n)
			}
		}
	}
	if r.Terminates {
		b.WriteString(", terminates")
	}
	d.tr.add(b.String())
}
