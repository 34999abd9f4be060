package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// opKind is a comparison operator or a boolean string function.
type opKind uint8

const (
	opEq opKind = iota + 1
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opMatches
	opIn
	opStartsWith // starts_with(x, "lit")
	opEndsWith   // ends_with(x, "lit")
)

var opNames = [...]string{
	opEq: "eq", opNe: "ne", opLt: "lt", opLe: "le", opGt: "gt", opGe: "ge",
	opContains: "contains", opMatches: "matches", opIn: "in",
	opStartsWith: "starts_with", opEndsWith: "ends_with",
}

// comparisonOps maps both notations to the operator.
var comparisonOps = map[string]opKind{
	"eq": opEq, "==": opEq, "ne": opNe, "!=": opNe,
	"lt": opLt, "<": opLt, "le": opLe, "<=": opLe,
	"gt": opGt, ">": opGt, "ge": opGe, ">=": opGe,
	"contains": opContains, "matches": opMatches, "~": opMatches, "in": opIn,
}

// fn is a transformation function applied to a field.
type fn uint8

const (
	fnLower fn = iota + 1
	fnUpper
	fnLen
)

var fnNames = [...]string{fnLower: "lower", fnUpper: "upper", fnLen: "len"}

// caseMap is the net effect of lower/upper on a string: the innermost call is overridden by
// the outer ones, since both only map ASCII letters.
type caseMap uint8

const (
	caseNone caseMap = iota
	caseLower
	caseUpper
)

// operand is what a comparison reads: a field, possibly wrapped in functions.
type operand struct {
	f     field
	fns   []fn    // as written, outermost first; only for String
	cm    caseMap // net lower/upper
	isLen bool    // len(…) outermost: the operand is the Integer length
	typ   typ
}

// intRange and ipRange are closed intervals; sets hold them sorted and merged.
type intRange struct{ lo, hi int64 }
type ipRange struct{ lo, hi netip.Addr }

// cmp is one comparison (or starts_with/ends_with call) with its literal compiled.
type cmp struct {
	x  operand
	op opKind

	s   string // string literal (normalised for the name fields)
	sb  []byte // s as bytes, for the bytes functions on derived values
	n   int64  // integer literal
	ip  netip.Addr
	re  *regexp.Regexp
	lit string // the literal as String prints it

	strSet map[string]struct{}
	ints   []intRange
	v4, v6 []ipRange
	elems  []string // set elements as String prints them

	// ECS address fast path: eq, ne and in on dns.rr.opt.client.addr compare addresses,
	// not text. addrs holds the literals that are the canonical text of an address; a
	// literal that is not can never be equal to the formatted address.
	ecsFast bool
	addrs   map[netip.Addr]struct{}
}

type nodeKind uint8

const (
	nTrue nodeKind = iota + 1
	nAnd
	nXor
	nOr
	nNot
	nBool // a bare Boolean field
	nCmp
)

type node struct {
	kind nodeKind
	a, b *node // operands of and/xor/or; a for not
	f    field // nBool
	c    *cmp  // nCmp
}

// Compile parses and type-checks a condition. An empty (or all-space) condition is always
// true. Errors are *Error values that give the line and column.
func Compile(cond string) (*Expr, error) {
	if len(cond) > maxLen {
		return nil, &Error{Line: 1, Col: 1, Msg: fmt.Sprintf("condition is %d bytes long; the limit is %d", len(cond), maxLen)}
	}
	toks, err := lex(cond)
	if err != nil {
		return nil, err
	}
	if len(toks) == 1 {
		return &Expr{root: &node{kind: nTrue}}, nil
	}
	p := &parser{src: cond, toks: toks}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != kEOF {
		if t.is(kOp, ")") {
			return nil, p.errAt(t, "unmatched )")
		}
		return nil, p.errAt(t, "expected and, or, xor or the end of the condition; found %s", t.describe())
	}
	e := &Expr{root: root}
	e.uses = usesOf(root)
	return e, nil
}

func usesOf(n *node) Uses {
	switch n.kind {
	case nAnd, nOr, nXor:
		return usesOf(n.a) | usesOf(n.b)
	case nNot:
		return usesOf(n.a)
	case nBool:
		return fieldInfo[n.f].uses
	case nCmp:
		return fieldInfo[n.c.x.f].uses
	}
	return 0
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != kEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return errAt(p.src, t.pos, format, args...)
}

// isKeyword reports whether t is the English or C-like notation of a logical operator.
func isKeyword(t token, word, sym string) bool {
	return t.is(kWord, word) || t.is(kOp, sym)
}

// Precedence, from Cloudflare's Rules language reference: not, then and, then xor, then or.

func (p *parser) parseOr() (*node, error) {
	return p.parseBinary(nOr, "or", "||", p.parseXor)
}

func (p *parser) parseXor() (*node, error) {
	return p.parseBinary(nXor, "xor", "^^", p.parseAnd)
}

func (p *parser) parseAnd() (*node, error) {
	return p.parseBinary(nAnd, "and", "&&", p.parseUnary)
}

func (p *parser) parseBinary(kind nodeKind, word, sym string, sub func() (*node, error)) (*node, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), word, sym) {
		p.next()
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left = &node{kind: kind, a: left, b: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (*node, error) {
	if isKeyword(p.peek(), "not", "!") {
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &node{kind: nNot, a: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (*node, error) {
	t := p.peek()
	switch {
	case t.is(kOp, "("):
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); !c.is(kOp, ")") {
			if c.kind == kEOF {
				return nil, p.errAt(t, "unclosed (")
			}
			return nil, p.errAt(c, "expected ) or a logical operator; found %s", c.describe())
		}
		p.next()
		return x, nil
	case t.kind == kWord && (t.text == "starts_with" || t.text == "ends_with") && p.toks[p.i+1].is(kOp, "("):
		return p.parseAffix()
	case t.kind == kWord:
		if w := strings.ToLower(t.text); w != t.text && (isLogicalWord(w) || comparisonOps[w] != 0) {
			return nil, p.errAt(t, "%s must be written in lowercase: %s", t.text, w)
		}
		if isLogicalWord(t.text) {
			return nil, p.errAt(t, "expected a field or a function before %s", t.text)
		}
		x, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if x.typ == tBool {
			if op := p.peek(); p.isComparisonOp(op) {
				return nil, p.errAt(op, "%s is a Boolean: use it alone (%s) or negated (not %s), without %s", x.f, x.f, x.f, op.text)
			}
			return &node{kind: nBool, f: x.f}, nil
		}
		return p.parseComparison(x, t)
	case t.kind == kString:
		return nil, p.errAt(t, "a comparison starts with a field or a function, not a string")
	case t.kind == kEOF:
		return nil, p.errAt(t, "condition ends where an expression was expected")
	}
	return nil, p.errAt(t, "expected a field, a function, not or (; found %s", t.describe())
}

func isLogicalWord(w string) bool { return w == "and" || w == "or" || w == "xor" || w == "not" }

func (p *parser) isComparisonOp(t token) bool {
	_, ok := comparisonOps[t.text]
	return ok && (t.kind == kWord || t.kind == kOp)
}

// parseOperand reads a field or a lower/upper/len call of one.
func (p *parser) parseOperand() (operand, error) {
	t := p.next()
	if t.kind != kWord {
		if t.kind == kString {
			return operand{}, p.errAt(t, "expected a field, found a string: the source of a function must be a field, not a literal")
		}
		return operand{}, p.errAt(t, "expected a field, found %s", t.describe())
	}
	if p.peek().is(kOp, "(") {
		var f fn
		switch t.text {
		case "lower":
			f = fnLower
		case "upper":
			f = fnUpper
		case "len":
			f = fnLen
		case "starts_with", "ends_with":
			return operand{}, p.errAt(t, "%s returns a Boolean and cannot be used as a value", t.text)
		default:
			return operand{}, p.errAt(t, "unknown function %s (supported: lower, upper, len, starts_with, ends_with)", t.text)
		}
		open := p.next()
		arg, err := p.parseOperand()
		if err != nil {
			return operand{}, err
		}
		if arg.typ != tString {
			return operand{}, p.errAt(t, "%s needs a String; %s is %s", t.text, describeOperand(arg), arg.typ)
		}
		if c := p.next(); !c.is(kOp, ")") {
			if c.is(kOp, ",") {
				return operand{}, p.errAt(c, "%s takes one argument", t.text)
			}
			return operand{}, p.errAt(open, "expected ) to close %s(, found %s", t.text, c.describe())
		}
		x := arg
		x.fns = append([]fn{f}, arg.fns...)
		switch f {
		case fnLower:
			x.cm = caseLower
		case fnUpper:
			x.cm = caseUpper
		case fnLen:
			x.isLen, x.typ = true, tInt
		}
		return x, nil
	}
	f := lookupField(t.text)
	if f == fNone {
		return operand{}, unknownField(p, t)
	}
	return operand{f: f, typ: fieldInfo[f].typ}, nil
}

func unknownField(p *parser, t token) error {
	name := t.text
	switch {
	case strings.HasPrefix(name, "http.") || strings.HasPrefix(name, "raw.http."):
		return p.errAt(t, "%s: HTTP fields are not available to DNS-only load balancers", name)
	case fieldHints[name] != "":
		return p.errAt(t, "unknown field %s; use %s", name, fieldHints[name])
	case name != "" && (name[0] >= '0' && name[0] <= '9' || name[0] == '-' || strings.Contains(name, ":")):
		return p.errAt(t, "expected a field, found the value %s: a comparison is written <field> <operator> <value>", name)
	}
	return p.errAt(t, "unknown field %s (DNS-only load balancers have: %s)", name, fieldList())
}

func fieldList() string {
	names := make([]string, 0, len(fieldInfo))
	for _, fi := range fieldInfo[1:] {
		names = append(names, fi.name)
	}
	return strings.Join(names, ", ")
}

func describeOperand(x operand) string {
	var b strings.Builder
	writeOperand(&b, x)
	return b.String()
}

// parseAffix reads starts_with(x, "lit") or ends_with(x, "lit").
func (p *parser) parseAffix() (*node, error) {
	name := p.next()
	open := p.next()
	op := opStartsWith
	if name.text == "ends_with" {
		op = opEndsWith
	}
	x, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if x.typ != tString {
		return nil, p.errAt(name, "%s needs a String; %s is %s", name.text, describeOperand(x), x.typ)
	}
	if c := p.next(); !c.is(kOp, ",") {
		return nil, p.errAt(c, "%s takes two arguments: %s(field, \"text\"); found %s", name.text, name.text, c.describe())
	}
	lt := p.next()
	if lt.kind != kString {
		return nil, p.errAt(lt, "the second argument of %s must be a quoted string; found %s", name.text, lt.describe())
	}
	c := &cmp{x: x, op: op}
	if err := p.stringLiteral(c, lt); err != nil {
		return nil, err
	}
	if t := p.next(); !t.is(kOp, ")") {
		return nil, p.errAt(open, "expected ) to close %s(, found %s", name.text, t.describe())
	}
	if t := p.peek(); p.isComparisonOp(t) {
		return nil, p.errAt(t, "%s returns a Boolean: it cannot be compared with %s", name.text, t.text)
	}
	return &node{kind: nCmp, c: c}, nil
}

// parseComparison reads the operator and the value after operand x, which started at start.
func (p *parser) parseComparison(x operand, start token) (*node, error) {
	ot := p.next()
	op, ok := comparisonOps[ot.text]
	if !ok || (ot.kind != kWord && ot.kind != kOp) {
		if w := strings.ToLower(ot.text); ot.kind == kWord && comparisonOps[w] != 0 {
			return nil, p.errAt(ot, "operator %s must be written in lowercase: %s", ot.text, w)
		}
		if ot.kind == kEOF {
			return nil, p.errAt(ot, "expected an operator after %s", describeOperand(x))
		}
		return nil, p.errAt(ot, "expected an operator after %s (eq, ne, lt, le, gt, ge, contains, matches, in), found %s", describeOperand(x), ot.describe())
	}
	c := &cmp{x: x, op: op}
	switch x.typ {
	case tInt:
		if op == opContains || op == opMatches {
			return nil, p.errAt(ot, "%s needs a String; %s is %s", ot.text, describeOperand(x), x.typ)
		}
	case tIP:
		switch op {
		case opLt, opLe, opGt, opGe, opContains, opMatches:
			return nil, p.errAt(ot, "%s does not apply to an IP address; use eq, ne or in {…} on %s", ot.text, describeOperand(x))
		}
	}
	var err error
	if op == opIn {
		err = p.parseSet(c)
	} else {
		err = p.parseValue(c)
	}
	if err != nil {
		return nil, err
	}
	if c.x.f == fECSAddr && c.x.cm == caseNone && !c.x.isLen && (op == opEq || op == opNe || op == opIn) {
		c.ecsFast = true
		c.addrs = make(map[netip.Addr]struct{})
		lits := []string{c.s}
		if op == opIn {
			lits = lits[:0]
			for s := range c.strSet {
				lits = append(lits, s)
			}
		}
		for _, s := range lits {
			if a, err := netip.ParseAddr(s); err == nil && a.String() == s {
				c.addrs[a] = struct{}{}
			}
		}
	}
	return &node{kind: nCmp, c: c}, nil
}

// parseValue reads the single literal after a comparison operator other than in.
func (p *parser) parseValue(c *cmp) error {
	t := p.next()
	switch c.x.typ {
	case tString:
		if t.kind != kString {
			return p.wantString(c, t)
		}
		return p.stringLiteral(c, t)
	case tInt:
		if t.kind != kWord {
			return p.wantInt(c, t)
		}
		if strings.Contains(t.text, "..") {
			return p.errAt(t, "a range is only allowed in a set: %s in {%s}", describeOperand(c.x), t.text)
		}
		n, err := p.intLiteral(c, t, t.text)
		c.n, c.lit = n, strconv.FormatInt(n, 10)
		return err
	case tIP:
		if t.kind != kWord {
			return p.errAt(t, "%s is an IP address; expected an address such as 192.0.2.1, found %s", describeOperand(c.x), t.describe())
		}
		if strings.Contains(t.text, "/") || strings.Contains(t.text, "..") {
			return p.errAt(t, "a CIDR or range is only allowed in a set: %s in {%s}", describeOperand(c.x), t.text)
		}
		a, err := p.ipLiteral(t, t.text)
		c.ip, c.lit = a, a.String()
		return err
	}
	return p.errAt(t, "no value can be compared with %s", describeOperand(c.x))
}

func (p *parser) wantString(c *cmp, t token) error {
	if t.kind == kWord {
		return p.errAt(t, "%s is a String; write the value in double quotes: \"%s\"", describeOperand(c.x), t.text)
	}
	return p.errAt(t, "expected a quoted string after %s, found %s", opNames[c.op], t.describe())
}

// qtypeNumbers help with dns.qry.type "A".
var qtypeNumbers = map[string]int{
	"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
	"SRV": 33, "NAPTR": 35, "DS": 43, "DNSKEY": 48, "SVCB": 64, "HTTPS": 65, "ANY": 255, "CAA": 257,
}

func (p *parser) wantInt(c *cmp, t token) error {
	if t.kind == kString {
		body := t.text
		if c.x.f == fQType && !c.x.isLen {
			if n, ok := qtypeNumbers[strings.ToUpper(body)]; ok {
				return p.errAt(t, "dns.qry.type is an Integer: write %d for %s, not a string", n, strings.ToUpper(body))
			}
		}
		return p.errAt(t, "%s is an Integer; expected a number, found a string", describeOperand(c.x))
	}
	return p.errAt(t, "%s is an Integer; expected a number, found %s", describeOperand(c.x), t.describe())
}

func (p *parser) intLiteral(c *cmp, t token, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if c.x.f == fQType && !c.x.isLen {
			if q, ok := qtypeNumbers[strings.ToUpper(s)]; ok {
				return 0, p.errAt(t, "dns.qry.type is an Integer: write %d for %s", q, strings.ToUpper(s))
			}
		}
		return 0, p.errAt(t, "%s is an Integer; %q is not a decimal integer", describeOperand(c.x), s)
	}
	return n, nil
}

func (p *parser) ipLiteral(t token, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, p.errAt(t, "%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, p.errAt(t, "%q: an IP address with a zone is not allowed", s)
	}
	return a.Unmap(), nil
}

// stringLiteral decodes the string token t into c.s, applying the name conventions.
func (p *parser) stringLiteral(c *cmp, t token) error {
	var s string
	switch {
	case t.raw:
		s = t.text
	case c.op == opMatches:
		s = decodeRegex(t.text)
	default:
		var err error
		if s, err = decodeString(p.src, t.pos, t.text); err != nil {
			return err
		}
	}
	if c.op == opMatches {
		re, err := regexp.Compile(s)
		if err != nil {
			return p.errAt(t, "invalid regular expression: %v", err)
		}
		c.re, c.s, c.lit = re, s, formatRegex(s)
		return nil
	}
	c.s = normalizeLiteral(c.x, c.op, s)
	c.sb = []byte(c.s)
	c.lit = formatString(c.s)
	return nil
}

// normalizeLiteral applies the conventions of the name fields to a literal compared with
// them (see the package documentation): DNS names are case-insensitive and Fields holds them
// lowercase, so a literal compared with the bare field is lowercased; dns.qry.name ends with
// a dot and cf.load_balancer.name does not, so a literal compared whole (eq, ne, in) or as a
// suffix (ends_with) gets the dot added or removed.
func normalizeLiteral(x operand, op opKind, s string) string {
	if x.f != fQName && x.f != fLBName {
		return s
	}
	if x.cm == caseNone {
		s = asciiLower(s)
	}
	switch op {
	case opEq, opNe, opIn, opEndsWith:
		if x.f == fQName && s != "" && !strings.HasSuffix(s, ".") {
			s += "."
		}
		if x.f == fLBName && len(s) > 1 && strings.HasSuffix(s, ".") {
			s = s[:len(s)-1]
		}
	}
	return s
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// parseSet reads {…} after in: strings for String operands, integers and ranges for
// Integer operands, addresses, CIDRs and ranges for IP operands.
func (p *parser) parseSet(c *cmp) error {
	open := p.next()
	if open.is(kOp, "$") {
		return p.errAt(open, "lists ($name) are not supported: Load Balancing custom rules do not support IP list operators; write the values in {…}")
	}
	if !open.is(kOp, "{") {
		return p.errAt(open, "expected { after in, found %s", open.describe())
	}
	if c.x.typ == tString {
		c.strSet = make(map[string]struct{})
	}
	for {
		t := p.next()
		switch {
		case t.is(kOp, "}"):
			if len(c.elems) == 0 {
				return p.errAt(open, "empty set: list at least one value between { and }")
			}
			c.ints = mergeInts(c.ints)
			c.v4, c.v6 = mergeIPs(c.v4), mergeIPs(c.v6)
			c.lit = "{" + strings.Join(c.elems, " ") + "}"
			return nil
		case t.kind == kEOF:
			return p.errAt(open, "unclosed {")
		case t.is(kOp, ","):
			return p.errAt(t, "set values are separated by spaces, not commas")
		}
		if err := p.setElem(c, t); err != nil {
			return err
		}
	}
}

func (p *parser) setElem(c *cmp, t token) error {
	switch c.x.typ {
	case tString:
		if t.kind != kString {
			return p.wantString(c, t)
		}
		e := &cmp{x: c.x, op: opIn}
		if err := p.stringLiteral(e, t); err != nil {
			return err
		}
		c.strSet[e.s] = struct{}{}
		c.elems = append(c.elems, e.lit)
	case tInt:
		if t.kind != kWord {
			return p.wantInt(c, t)
		}
		lo, hi, isRange := strings.Cut(t.text, "..")
		a, err := p.intLiteral(c, t, lo)
		if err != nil {
			return err
		}
		b := a
		if isRange {
			if b, err = p.intLiteral(c, t, hi); err != nil {
				return err
			}
			if b < a {
				return p.errAt(t, "range %s is empty: %d is greater than %d", t.text, a, b)
			}
			c.elems = append(c.elems, fmt.Sprintf("%d..%d", a, b))
		} else {
			c.elems = append(c.elems, strconv.FormatInt(a, 10))
		}
		c.ints = append(c.ints, intRange{a, b})
	case tIP:
		if t.kind != kWord {
			return p.errAt(t, "%s is an IP address; expected an address, CIDR or range, found %s", describeOperand(c.x), t.describe())
		}
		r, text, err := p.ipElem(t)
		if err != nil {
			return err
		}
		if r.lo.Is4() {
			c.v4 = append(c.v4, r)
		} else {
			c.v6 = append(c.v6, r)
		}
		c.elems = append(c.elems, text)
	}
	return nil
}

// ipElem parses an address, a CIDR or a range lo..hi into a closed range.
func (p *parser) ipElem(t token) (ipRange, string, error) {
	s := t.text
	if lo, hi, ok := strings.Cut(s, ".."); ok {
		a, err := p.ipLiteral(t, lo)
		if err != nil {
			return ipRange{}, "", err
		}
		b, err := p.ipLiteral(t, hi)
		if err != nil {
			return ipRange{}, "", err
		}
		if a.Is4() != b.Is4() {
			return ipRange{}, "", p.errAt(t, "range %s mixes IPv4 and IPv6", s)
		}
		if b.Less(a) {
			return ipRange{}, "", p.errAt(t, "range %s is empty: %s comes after %s", s, a, b)
		}
		return ipRange{a, b}, a.String() + ".." + b.String(), nil
	}
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return ipRange{}, "", p.errAt(t, "%q is not a CIDR: %v", s, errText(err))
		}
		if pfx.Addr().Is4In6() {
			if pfx.Bits() < 96 {
				return ipRange{}, "", p.errAt(t, "%q: an IPv4-mapped CIDR needs at least 96 bits", s)
			}
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		m := pfx.Masked()
		return ipRange{m.Addr(), lastAddr(m)}, pfx.String(), nil
	}
	a, err := p.ipLiteral(t, s)
	if err != nil {
		return ipRange{}, "", err
	}
	return ipRange{a, a}, a.String(), nil
}

func errText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// lastAddr is the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

func mergeInts(rs []intRange) []intRange {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b intRange) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi || last.hi != maxInt64 && r.lo == last.hi+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

const maxInt64 = 1<<63 - 1

func mergeIPs(rs []ipRange) []ipRange {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b ipRange) int { return a.lo.Compare(b.lo) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo.Compare(last.hi) <= 0 || last.hi.Next() == r.lo {
			if r.hi.Compare(last.hi) > 0 {
				last.hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
