package rules

import (
	"strings"
	"unicode/utf8"
)

// String returns the condition in canonical form: English operators, literals as compared
// (name literals normalised, see the package documentation), parentheses only where
// precedence needs them. Compiling the result gives an equivalent expression with the same
// String, unless escapes made it longer than the 4096-byte limit. An empty condition prints
// as "".
func (e *Expr) String() string {
	if e == nil || e.root == nil || e.root.kind == nTrue {
		return ""
	}
	var b strings.Builder
	writeNode(&b, e.root)
	return b.String()
}

// prec is the binding strength of a node: comparisons bind tightest, then not, and, xor, or.
func prec(n *node) int {
	switch n.kind {
	case nOr:
		return 1
	case nXor:
		return 2
	case nAnd:
		return 3
	case nNot:
		return 4
	}
	return 5
}

func writeNode(b *strings.Builder, n *node) {
	switch n.kind {
	case nAnd, nOr, nXor:
		op := map[nodeKind]string{nAnd: " and ", nOr: " or ", nXor: " xor "}[n.kind]
		writeChild(b, n.a, prec(n))
		b.WriteString(op)
		// The parser builds left-leaning trees; a right operand of the same operator needs
		// no parentheses because and, or and xor are associative.
		writeChild(b, n.b, prec(n))
	case nNot:
		b.WriteString("not ")
		writeChild(b, n.a, prec(n))
	case nBool:
		b.WriteString(n.f.String())
	case nCmp:
		writeCmp(b, n.c)
	case nTrue:
		// Only reachable for an empty condition, which String handles.
	}
}

func writeChild(b *strings.Builder, n *node, parent int) {
	if prec(n) < parent {
		b.WriteByte('(')
		writeNode(b, n)
		b.WriteByte(')')
		return
	}
	writeNode(b, n)
}

func writeCmp(b *strings.Builder, c *cmp) {
	if c.op == opStartsWith || c.op == opEndsWith {
		b.WriteString(opNames[c.op])
		b.WriteByte('(')
		writeOperand(b, c.x)
		b.WriteString(", ")
		b.WriteString(c.lit)
		b.WriteByte(')')
		return
	}
	writeOperand(b, c.x)
	b.WriteByte(' ')
	b.WriteString(opNames[c.op])
	b.WriteByte(' ')
	b.WriteString(c.lit)
}

func writeOperand(b *strings.Builder, x operand) {
	for _, f := range x.fns {
		b.WriteString(fnNames[f])
		b.WriteByte('(')
	}
	b.WriteString(x.f.String())
	for range x.fns {
		b.WriteByte(')')
	}
}

// formatString quotes s so that the basic string escapes give it back: \" and \\, and \xHH
// for control bytes and bytes that are not UTF-8.
func formatString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// formatRegex writes a regular expression as a raw string, which has no escapes, with as
// many '#' as it takes for the closing delimiter not to occur inside.
func formatRegex(s string) string {
	hashes := ""
	for strings.Contains(s, `"`+hashes) {
		hashes += "#"
	}
	return "r" + hashes + `"` + s + `"` + hashes
}
