package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
)

// node is one value of the parsed document, independent of the file format. Map keys keep
// their case and order; line is 1-based, 0 when unknown (TOML, environment).
type node struct {
	kind  nodeKind
	line  int
	keys  []string
	klns  []int // line of each key
	vals  []*node
	items []*node
	raw   string // scalar text
	val   any    // scalar value: string, int64, float64, bool
	env   string // the environment variable this value came from
}

type nodeKind int

const (
	kNull nodeKind = iota
	kMap
	kList
	kScalar
)

func (k nodeKind) String() string {
	switch k {
	case kMap:
		return "a map"
	case kList:
		return "a list"
	case kScalar:
		return "a value"
	}
	return "null"
}

// limits against hostile documents (alias bombs, deep nesting).
const (
	maxNodes = 1 << 17 // a large config holds a few thousand nodes
	maxDepth = 100
)

var errTooLarge = errors.New("document too large or too deeply nested")

func (n *node) get(key string) *node {
	if n == nil || n.kind != kMap {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) set(key string, v *node) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.klns = append(n.klns, 0)
	n.vals = append(n.vals, v)
}

// parse parses data in the given format ("yaml", "json" or "toml").
func parse(data []byte, format string) (*node, error) {
	switch format {
	case "yaml":
		return parseYAML(data)
	case "json":
		return parseJSON(data)
	case "toml":
		return parseTOML(data)
	}
	return nil, fmt.Errorf("unknown config format %q (want .yaml, .yml, .json or .toml)", format)
}

// ---- YAML ----

func parseYAML(data []byte) (*node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &node{kind: kMap}, nil // empty file
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: only one YAML document is allowed", extra.Line)
	}
	count := 0
	return fromYAML(&doc, 0, &count)
}

func fromYAML(y *yaml.Node, depth int, count *int) (*node, error) {
	*count++
	if depth > maxDepth || *count > maxNodes {
		return nil, errTooLarge
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kMap}, nil
		}
		return fromYAML(y.Content[0], depth+1, count)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", y.Line)
		}
		return fromYAML(y.Alias, depth+1, count)
	case yaml.MappingNode:
		n := &node{kind: kMap, line: y.Line}
		seen := map[string]bool{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a map key must be a plain value", k.Line)
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: merge keys (<<) are not supported", k.Line)
			}
			if seen[k.Value] {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			c, err := fromYAML(v, depth+1, count)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k.Value)
			n.klns = append(n.klns, k.Line)
			n.vals = append(n.vals, c)
		}
		return n, nil
	case yaml.SequenceNode:
		n := &node{kind: kList, line: y.Line}
		for _, c := range y.Content {
			cn, err := fromYAML(c, depth+1, count)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, cn)
		}
		return n, nil
	case yaml.ScalarNode:
		if y.Tag == "!!null" {
			return &node{kind: kNull, line: y.Line}, nil
		}
		n := &node{kind: kScalar, line: y.Line, raw: y.Value}
		switch y.Tag {
		case "!!bool":
			var b bool
			if err := y.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %v", y.Line, err)
			}
			n.val = b
		case "!!int":
			var i int64
			if err := y.Decode(&i); err != nil {
				var f float64
				if err2 := y.Decode(&f); err2 != nil {
					return nil, fmt.Errorf("line %d: %v", y.Line, err)
				}
				n.val = f
			} else {
				n.val = i
			}
		case "!!float":
			var f float64
			if err := y.Decode(&f); err != nil {
				return nil, fmt.Errorf("line %d: %v", y.Line, err)
			}
			n.val = f
		default:
			n.val = y.Value
		}
		return n, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", y.Line)
}

// ---- JSON ----

func parseJSON(data []byte) (*node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return &node{kind: kMap}, nil
	}
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), lastLine: 1}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, p.wrap(err)
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: data after the top-level value", p.line())
	}
	return n, nil
}

type jsonParser struct {
	data     []byte
	dec      *json.Decoder
	count    int
	lastOff  int
	lastLine int
}

func (p *jsonParser) line() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	if off < p.lastOff { // the previous call skipped ahead of the decoder
		p.lastLine -= bytes.Count(p.data[off:p.lastOff], []byte{'\n'})
	} else {
		p.lastLine += bytes.Count(p.data[p.lastOff:off], []byte{'\n'})
	}
	p.lastOff = off
	return p.lastLine
}

func (p *jsonParser) wrap(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		if off > len(p.data) {
			off = len(p.data)
		}
		return fmt.Errorf("line %d: %v", 1+bytes.Count(p.data[:off], []byte{'\n'}), se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("line %d: unexpected end of JSON", p.line())
	}
	return err
}

func (p *jsonParser) value(depth int) (*node, error) {
	p.count++
	if depth > maxDepth || p.count > maxNodes {
		return nil, errTooLarge
	}
	line := p.line()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	return p.fromToken(tok, line, depth)
}

func (p *jsonParser) fromToken(tok json.Token, line, depth int) (*node, error) {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: kMap, line: line}
			seen := map[string]bool{}
			for p.dec.More() {
				kl := p.line()
				kt, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("line %d: object key is not a string", kl)
				}
				if seen[k] {
					return nil, fmt.Errorf("line %d: duplicate key %q", kl, k)
				}
				seen[k] = true
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.klns = append(n.klns, kl)
				n.vals = append(n.vals, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: kList, line: line}
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, fmt.Errorf("line %d: unexpected %v", line, t)
	case nil:
		return &node{kind: kNull, line: line}, nil
	case bool:
		return &node{kind: kScalar, line: line, raw: strconv.FormatBool(t), val: t}, nil
	case string:
		return &node{kind: kScalar, line: line, raw: t, val: t}, nil
	case json.Number:
		n := &node{kind: kScalar, line: line, raw: t.String()}
		if i, err := t.Int64(); err == nil {
			n.val = i
		} else if f, err := t.Float64(); err == nil {
			n.val = f
		} else {
			return nil, fmt.Errorf("line %d: bad number %s", line, t)
		}
		return n, nil
	}
	return nil, fmt.Errorf("line %d: unexpected token", line)
}

// ---- TOML ----

func parseTOML(data []byte) (*node, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, fmt.Errorf("line %d: %s", row, de.Error())
		}
		return nil, err
	}
	count := 0
	return fromAny(m, 0, &count)
}

func fromAny(v any, depth int, count *int) (*node, error) {
	*count++
	if depth > maxDepth || *count > maxNodes {
		return nil, errTooLarge
	}
	switch t := v.(type) {
	case nil:
		return &node{kind: kNull}, nil
	case map[string]any:
		n := &node{kind: kMap}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := fromAny(t[k], depth+1, count)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k)
			n.klns = append(n.klns, 0)
			n.vals = append(n.vals, c)
		}
		return n, nil
	case []any:
		n := &node{kind: kList}
		for _, e := range t {
			c, err := fromAny(e, depth+1, count)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, c)
		}
		return n, nil
	case string:
		return &node{kind: kScalar, raw: t, val: t}, nil
	case bool:
		return &node{kind: kScalar, raw: strconv.FormatBool(t), val: t}, nil
	case int64:
		return &node{kind: kScalar, raw: strconv.FormatInt(t, 10), val: t}, nil
	case float64:
		return &node{kind: kScalar, raw: strconv.FormatFloat(t, 'g', -1, 64), val: t}, nil
	case time.Time:
		return &node{kind: kScalar, raw: t.Format(time.RFC3339Nano), val: t.Format(time.RFC3339Nano)}, nil
	case fmt.Stringer: // toml.LocalDate, LocalTime, LocalDateTime
		s := t.String()
		return &node{kind: kScalar, raw: s, val: s}, nil
	}
	return nil, fmt.Errorf("unsupported TOML value %T", v)
}

// isIntegral reports whether f is a whole number that fits an int64.
func isIntegral(f float64) bool {
	return f == math.Trunc(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<62
}
