package rules

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"
)

// Expr is a compiled condition. It is immutable and safe for concurrent use.
type Expr struct {
	root *node
	uses Uses
}

// Uses reports which inputs the expression reads, so that callers do GeoIP and ASN lookups
// (and ECS formatting) only when a rule needs them.
func (e *Expr) Uses() Uses {
	if e == nil {
		return 0
	}
	return e.uses
}

// Eval evaluates the condition for one query. A nil Expr, like an empty condition, is true.
// Eval does not allocate.
func (e *Expr) Eval(f *Fields) bool {
	if e == nil || e.root == nil {
		return true
	}
	return e.root.eval(f)
}

func (n *node) eval(f *Fields) bool {
	switch n.kind {
	case nAnd:
		return n.a.eval(f) && n.b.eval(f)
	case nOr:
		return n.a.eval(f) || n.b.eval(f)
	case nXor:
		return n.a.eval(f) != n.b.eval(f)
	case nNot:
		return !n.a.eval(f)
	case nBool:
		if n.f == fQU {
			return f.QU
		}
		return f.ECS
	case nCmp:
		return n.c.eval(f)
	}
	return true // nTrue
}

// eval compares; a missing value (no ip.src, no ECS address) makes every comparison false,
// as in Cloudflare's Rules language.
func (c *cmp) eval(f *Fields) bool {
	switch c.x.typ {
	case tInt:
		v, ok := c.x.intValue(f)
		return ok && c.intOp(v)
	case tIP:
		if !f.Src.IsValid() {
			return false
		}
		return c.ipOp(f.Src.Unmap().WithZone(""))
	}
	if c.ecsFast {
		if !f.ECS || !f.ECSAddr.IsValid() {
			return false
		}
		_, in := c.addrs[f.ECSAddr]
		if c.op == opNe {
			return !in
		}
		return in
	}
	if s, ok := c.x.plainString(f); ok {
		return c.stringOp(s)
	}
	if c.x.missing(f) {
		return false
	}
	if c.x.f == fSubdivision && c.x.cm == caseNone && (c.op == opEq || c.op == opNe) {
		// Compare "US-CA" with Country and Subdivision without building the code.
		s, cc, sub := c.s, f.Country, f.Subdivision
		eq := len(s) == len(cc)+1+len(sub) && s[:len(cc)] == cc && s[len(cc)] == '-' && s[len(cc)+1:] == sub
		return eq == (c.op == opEq)
	}
	bp := bufPool.Get().(*[]byte)
	b := c.x.appendValue((*bp)[:0], f)
	r := c.bytesOp(b)
	*bp = b
	bufPool.Put(bp)
	return r
}

// bufPool holds scratch buffers for values built per query: lower/upper results, the ECS
// address text and the full subdivision code.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 256)
	return &b
}}

// plainString returns the value of a String operand when it is a field as given, with no
// text to build.
func (x *operand) plainString(f *Fields) (string, bool) {
	if x.cm != caseNone {
		return "", false
	}
	switch x.f {
	case fLBName:
		return f.LBName, true
	case fLBRegion:
		return f.LBRegion, true
	case fCountry:
		return f.Country, true
	case fContinent:
		return f.Continent, true
	case fQName:
		return f.QName, true
	case fSubdivision:
		if f.Subdivision == "" || strings.IndexByte(f.Subdivision, '-') >= 0 {
			return f.Subdivision, true
		}
	}
	return "", false
}

func (x *operand) missing(f *Fields) bool {
	return x.f == fECSAddr && (!f.ECS || !f.ECSAddr.IsValid())
}

// appendValue appends the String value of x to dst, lower/upper applied.
func (x *operand) appendValue(dst []byte, f *Fields) []byte {
	start := len(dst)
	switch x.f {
	case fLBName:
		dst = append(dst, f.LBName...)
	case fLBRegion:
		dst = append(dst, f.LBRegion...)
	case fCountry:
		dst = append(dst, f.Country...)
	case fContinent:
		dst = append(dst, f.Continent...)
	case fQName:
		dst = append(dst, f.QName...)
	case fSubdivision:
		dst = appendSubdivision(dst, f)
	case fECSAddr:
		dst = f.ECSAddr.AppendTo(dst)
	}
	switch x.cm {
	case caseLower:
		for i := start; i < len(dst); i++ {
			if 'A' <= dst[i] && dst[i] <= 'Z' {
				dst[i] += 'a' - 'A'
			}
		}
	case caseUpper:
		for i := start; i < len(dst); i++ {
			if 'a' <= dst[i] && dst[i] <= 'z' {
				dst[i] -= 'a' - 'A'
			}
		}
	}
	return dst
}

func appendSubdivision(dst []byte, f *Fields) []byte {
	if f.Subdivision == "" || strings.IndexByte(f.Subdivision, '-') >= 0 {
		return append(dst, f.Subdivision...)
	}
	dst = append(dst, f.Country...)
	dst = append(dst, '-')
	return append(dst, f.Subdivision...)
}

// intValue returns the Integer value of x; ok is false for a missing value.
func (x *operand) intValue(f *Fields) (int64, bool) {
	if !x.isLen {
		switch x.f {
		case fASN:
			return int64(f.ASN), true
		case fQType:
			return int64(f.QType), true
		case fQNameLen:
			return int64(len(f.QName)), true
		}
		return 0, false
	}
	// len(…): lower and upper keep the length.
	switch x.f {
	case fLBName:
		return int64(len(f.LBName)), true
	case fLBRegion:
		return int64(len(f.LBRegion)), true
	case fCountry:
		return int64(len(f.Country)), true
	case fContinent:
		return int64(len(f.Continent)), true
	case fQName:
		return int64(len(f.QName)), true
	case fSubdivision:
		if f.Subdivision == "" || strings.IndexByte(f.Subdivision, '-') >= 0 {
			return int64(len(f.Subdivision)), true
		}
		return int64(len(f.Country) + 1 + len(f.Subdivision)), true
	case fECSAddr:
		if !f.ECS || !f.ECSAddr.IsValid() {
			return 0, false
		}
		var buf [64]byte
		return int64(len(f.ECSAddr.AppendTo(buf[:0]))), true
	}
	return 0, false
}

func (c *cmp) intOp(v int64) bool {
	switch c.op {
	case opEq:
		return v == c.n
	case opNe:
		return v != c.n
	case opLt:
		return v < c.n
	case opLe:
		return v <= c.n
	case opGt:
		return v > c.n
	case opGe:
		return v >= c.n
	case opIn:
		lo, hi := 0, len(c.ints)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			switch r := c.ints[m]; {
			case v < r.lo:
				hi = m
			case v > r.hi:
				lo = m + 1
			default:
				return true
			}
		}
	}
	return false
}

func (c *cmp) ipOp(a netip.Addr) bool {
	switch c.op {
	case opEq:
		return a == c.ip
	case opNe:
		return a != c.ip
	case opIn:
		rs := c.v6
		if a.Is4() {
			rs = c.v4
		}
		lo, hi := 0, len(rs)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			switch r := rs[m]; {
			case a.Less(r.lo):
				hi = m
			case r.hi.Less(a):
				lo = m + 1
			default:
				return true
			}
		}
	}
	return false
}

func (c *cmp) stringOp(s string) bool {
	switch c.op {
	case opEq:
		return s == c.s
	case opNe:
		return s != c.s
	case opLt:
		return s < c.s
	case opLe:
		return s <= c.s
	case opGt:
		return s > c.s
	case opGe:
		return s >= c.s
	case opContains:
		return strings.Contains(s, c.s)
	case opMatches:
		return c.re.MatchString(s)
	case opIn:
		_, ok := c.strSet[s]
		return ok
	case opStartsWith:
		return strings.HasPrefix(s, c.s)
	case opEndsWith:
		return strings.HasSuffix(s, c.s)
	}
	return false
}

// bytesOp is stringOp for a value built in a scratch buffer. The string(b) conversions in
// comparisons and map indexes do not allocate.
func (c *cmp) bytesOp(b []byte) bool {
	switch c.op {
	case opEq:
		return string(b) == c.s
	case opNe:
		return string(b) != c.s
	case opLt:
		return string(b) < c.s
	case opLe:
		return string(b) <= c.s
	case opGt:
		return string(b) > c.s
	case opGe:
		return string(b) >= c.s
	case opContains:
		return bytes.Contains(b, c.sb)
	case opMatches:
		return c.re.Match(b)
	case opIn:
		_, ok := c.strSet[string(b)]
		return ok
	case opStartsWith:
		return bytes.HasPrefix(b, c.sb)
	case opEndsWith:
		return bytes.HasSuffix(b, c.sb)
	}
	return false
}
