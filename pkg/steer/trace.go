package steer

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Trace records the steps of one decision as readable lines, for `lbdns explain`. The zero
// value is ready to use. Decide writes to it only when it is non-nil.
type Trace struct {
	lines []string
}

func (t *Trace) add(s string) { t.lines = append(t.lines, s) }

func (t *Trace) addf(format string, args ...any) {
	t.lines = append(t.lines, fmt.Sprintf(format, args...))
}

// Lines returns the recorded lines.
func (t *Trace) Lines() []string {
	if t == nil {
		return nil
	}
	return t.lines
}

// WriteTo writes the lines, one per line of output.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, l := range t.Lines() {
		m, err := io.WriteString(w, l+"\n")
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (t *Trace) String() string { return strings.Join(t.Lines(), "\n") }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func typeName(t uint16) string {
	switch t {
	case typeA:
		return "A"
	case typeAAAA:
		return "AAAA"
	case typeCNAME:
		return "CNAME"
	case typeMX:
		return "MX"
	case typeSRV:
		return "SRV"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func prefixOrDash(p netip.Prefix) string {
	if !p.IsValid() {
		return "-"
	}
	return p.String()
}

func coords(l *Location) string {
	if !l.HasCoords {
		return "-"
	}
	return fmt.Sprintf("%.4f,%.4f", l.Lat, l.Lon)
}

func (d *decider) poolNames(list []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		if p >= 0 && p < len(d.s.Pools) {
			b.WriteString(d.s.Pools[p].Name)
		} else {
			b.WriteString("?")
		}
	}
	b.WriteByte(']')
	return b.String()
}

func (d *decider) traceRanked(what string, r []ranked, unit string) {
	var b strings.Builder
	for i := range r {
		if i > 0 {
			b.WriteString(", ")
		}
		name := "?"
		if p := r[i].p; p >= 0 && p < len(d.s.Pools) {
			name = d.s.Pools[p].Name
		}
		b.WriteString(name)
		if r[i].has {
			b.WriteString(" (" + fmt.Sprintf(unit, r[i].key) + ")")
		} else {
			b.WriteString(" (none)")
		}
	}
	d.tr.addf("%s: %s", what, b.String())
}

func (d *decider) traceOriginHealth(p int) {
	pl := &d.s.Pools[p]
	desc, _ := d.health.(HealthDescriber)
	for i := range pl.Origins {
		o := &pl.Origins[i]
		st := "not monitored"
		if pl.Monitored {
			st = d.state(p, i).String()
		}
		line := fmt.Sprintf("  origin %s %s: %s, weight %.4g", o.Name, o.Address(), st, o.Weight)
		if !o.Enabled {
			line += ", disabled"
		}
		if desc != nil && pl.Monitored {
			if s := desc.DescribeOrigin(p, i); s != "" {
				line += " (" + s + ")"
			}
		}
		d.tr.add(line)
	}
}

func (d *decider) traceEligible(p int, o []int) {
	pl := &d.s.Pools[p]
	var b strings.Builder
	for k, i := range o {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s weight %.4g", pl.Origins[i].Name, pl.Origins[i].Address(), pl.Origins[i].Weight)
	}
	d.tr.addf("eligible origins in %s for %s: %s", pl.Name, typeName(d.q.Type), b.String())
}

func (d *decider) traceAnswer(p int, out *Decision) {
	pl := &d.s.Pools[p]
	var b strings.Builder
	for k, i := range out.Origins {
		if k > 0 {
			b.WriteString(", ")
		}
		o := &pl.Origins[i]
		switch out.Kind {
		case SRV:
			fmt.Fprintf(&b, "0 %d %d %s", srvWeight(o.Weight), o.Port, o.Host)
		case MX:
			fmt.Fprintf(&b, "10 %s", o.Host)
		default:
			b.WriteString(o.Address())
		}
	}
	fb := ""
	if out.Fallback {
		fb = " (fallback)"
	}
	d.tr.addf("answer: %s from pool %s%s: %s", out.Kind, pl.Name, fb, b.String())
}

// srvWeight is the SRV weight of an origin weight (ruling 5: × 100, rounded).
func srvWeight(w float64) uint16 {
	x := w*100 + 0.5
	if !(x > 0) {
		return 0
	}
	if x > 65535 {
		return 65535
	}
	return uint16(x)
}

// SRVWeight is the SRV record weight of origin o (ruling 5).
func (o *Origin) SRVWeight() uint16 { return srvWeight(o.Weight) }
