package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a compile error at a position of the condition. Line and Col count from 1; Col
// counts characters (runes), not bytes.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// errAt builds an *Error for byte offset off of src.
func errAt(src string, off int, format string, args ...any) *Error {
	if off > len(src) {
		off = len(src)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return &Error{Line: line, Col: utf8.RuneCountInString(src[start:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

type tokKind uint8

const (
	kEOF    tokKind = iota
	kWord           // field, keyword, function name or bare literal (number, IP, CIDR, range)
	kString         // quoted or raw string; text is the body as written (escapes not decoded)
	kOp             // punctuation: == != < <= > >= ~ ! && || ^^ ( ) { } , $
)

type token struct {
	kind tokKind
	text string
	raw  bool // kString: r"…" syntax, no escapes
	pos  int  // byte offset of the first character
}

func (t token) is(kind tokKind, text string) bool { return t.kind == kind && t.text == text }

// describe names a token in error messages.
func (t token) describe() string {
	switch t.kind {
	case kEOF:
		return "end of condition"
	case kString:
		return "a string"
	}
	return fmt.Sprintf("%q", t.text)
}

// isWordByte reports bytes that may appear in a word: field names (letters, digits, '_',
// '.'), numbers ('-' for negatives), IPv4/IPv6 addresses, CIDRs and ranges ("1..10").
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '/' || c == '-'
}

// maxLen is Cloudflare's limit on the length of a rule expression.
const maxLen = 4096

// lex splits src into tokens, the last being kEOF.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			end, err := scanQuoted(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: kString, text: src[i+1 : end], pos: i})
			i = end + 1
		case c == 'r' && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '#'):
			body, next, err := scanRaw(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: kString, text: body, raw: true, pos: i})
			i = next
		case isWordByte(c):
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			toks = append(toks, token{kind: kWord, text: src[i:j], pos: i})
			i = j
		default:
			op, err := scanOp(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: kOp, text: op, pos: i})
			i += len(op)
		}
	}
	return append(toks, token{kind: kEOF, pos: len(src)}), nil
}

// scanQuoted returns the offset of the closing quote of the string opening at i. A
// backslash always takes the next byte with it, so \" and \\ never end the string.
func scanQuoted(src string, i int) (int, error) {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j, nil
		}
	}
	return 0, errAt(src, i, "string is not terminated: missing closing \"")
}

// scanRaw reads r"…" or r#…#"…"#…# (up to 255 '#', as in Cloudflare) starting at i. It
// returns the body and the offset after the closing delimiter.
func scanRaw(src string, i int) (string, int, error) {
	j := i + 1
	hashes := 0
	for j < len(src) && src[j] == '#' {
		hashes++
		j++
	}
	if j >= len(src) || src[j] != '"' {
		return "", 0, errAt(src, i, "raw string needs a \" after r%s", strings.Repeat("#", hashes))
	}
	if hashes > 255 {
		return "", 0, errAt(src, i, "raw string has %d '#'; at most 255 are allowed", hashes)
	}
	closing := "\"" + strings.Repeat("#", hashes)
	body := j + 1
	k := strings.Index(src[body:], closing)
	if k < 0 {
		return "", 0, errAt(src, i, "raw string is not terminated: missing closing %s", closing)
	}
	return src[body : body+k], body + k + len(closing), nil
}

// ops are the punctuation tokens, longest first where one is a prefix of another.
var ops = [...]string{"==", "!=", "<=", ">=", "&&", "||", "^^", "<", ">", "~", "!", "(", ")", "{", "}", ",", "$"}

func scanOp(src string, i int) (string, error) {
	for _, op := range ops {
		if strings.HasPrefix(src[i:], op) {
			return op, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	switch r {
	case '=':
		return "", errAt(src, i, "unexpected '=': write == or eq to compare")
	case '&':
		return "", errAt(src, i, "unexpected '&': write && or and")
	case '|':
		return "", errAt(src, i, "unexpected '|': write || or or")
	case '^':
		return "", errAt(src, i, "unexpected '^': write ^^ or xor")
	case '\'':
		return "", errAt(src, i, "strings are written in double quotes (\"…\"), not single quotes")
	}
	return "", errAt(src, i, "unexpected character %q", r)
}

// decodeString decodes the body of a quoted string with the basic escapes: \" \\ and \xHH.
// off is the offset of the opening quote, for error positions.
func decodeString(src string, off int, body string) (string, error) {
	if !strings.Contains(body, `\`) {
		return body, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		at := off + 1 + i
		if i+1 >= len(body) {
			return "", errAt(src, at, "incomplete escape at the end of the string")
		}
		switch e := body[i+1]; e {
		case '"', '\\':
			b.WriteByte(e)
			i++
		case 'x':
			if i+3 >= len(body) {
				return "", errAt(src, at, `\x needs two hex digits`)
			}
			hi, ok1 := unhex(body[i+2])
			lo, ok2 := unhex(body[i+3])
			if !ok1 || !ok2 {
				return "", errAt(src, at, `\x needs two hex digits`)
			}
			b.WriteByte(hi<<4 | lo)
			i += 3
		default:
			r, _ := utf8.DecodeRuneInString(body[i+1:])
			return "", errAt(src, at, `unknown escape \%c: strings allow \", \\ and \xHH (a regular expression after matches keeps its own escapes)`, r)
		}
	}
	return b.String(), nil
}

// decodeRegex decodes the body of a quoted string used as a regular expression: only \"
// becomes ", every other escape is left for the regular expression (Cloudflare's "regex
// escaping rules").
func decodeRegex(body string) string {
	if !strings.Contains(body, `\"`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) {
			if body[i+1] != '"' {
				b.WriteByte('\\') // kept with the byte after it, a regular-expression escape
			}
			b.WriteByte(body[i+1])
			i++
			continue
		}
		b.WriteByte(body[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
