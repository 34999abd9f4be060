package config

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

var (
	fieldCache     sync.Map // reflect.Type → map[string]reflect.StructField
	typeStringList = reflect.TypeFor[StringList]()
	typeTime       = reflect.TypeFor[time.Time]()
)

// decoder turns the parsed tree into a JSON-shaped value for the target type, reporting
// unknown keys and wrong shapes with their paths, and noting the line of every path.
type decoder struct {
	ps    model.Problems
	lines map[string]int
	bad   map[string]bool   // paths with a decoding error (their validation problems are dropped)
	env   map[string]string // paths whose value came from an LBDNS_ variable → its name
}

func (d *decoder) errorf(path string, n *node, format string, args ...any) {
	d.ps.Errorf(path, format, args...)
	if n != nil && n.line > 0 {
		d.ps[len(d.ps)-1].Line = n.line
	}
	d.bad[path] = true
}

// decode returns the value of n for type t as encoding/json would produce it from JSON (maps,
// slices, strings, float64/int64, bools, nil). A value with an error becomes nil.
func (d *decoder) decode(n *node, t reflect.Type, path string) any {
	if n == nil || n.kind == kNull {
		return nil
	}
	if n.env != "" && d.env != nil {
		d.env[path] = n.env
	}
	if _, seen := d.lines[path]; !seen && n.line > 0 {
		d.lines[path] = n.line
	}
	if t == typeStringList {
		if n.kind == kScalar {
			return []any{n.raw}
		}
		return d.decode(n, reflect.TypeFor[[]string](), path)
	}
	if t == typeTime {
		if n.kind != kScalar {
			d.errorf(path, n, "expected a date-time, got %s", n.kind)
			return nil
		}
		if _, err := time.Parse(time.RFC3339Nano, n.raw); err != nil {
			d.errorf(path, n, "%q is not an RFC 3339 date-time", n.raw)
			return nil
		}
		return n.raw
	}
	switch t.Kind() {
	case reflect.Pointer:
		return d.decode(n, t.Elem(), path)
	case reflect.Struct:
		if n.kind != kMap {
			d.errorf(path, n, "expected a map of fields, got %s", describe(n))
			return nil
		}
		fields := jsonFields(t)
		out := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			kp := model.Field(path, k)
			if n.klns[i] > 0 {
				d.lines[kp] = n.klns[i]
			}
			f, ok := fields[k]
			if !ok {
				msg := "unknown field"
				if s := suggest(k, fields); s != "" {
					msg += " (did you mean " + s + "?)"
				}
				d.ps.Errorf(kp, "%s", msg)
				d.ps[len(d.ps)-1].Line = n.klns[i]
				d.bad[kp] = true
				continue
			}
			if v := d.decode(n.vals[i], f.Type, kp); v != nil {
				out[k] = v
			}
		}
		return out
	case reflect.Map:
		if n.kind != kMap {
			d.errorf(path, n, "expected a map, got %s", describe(n))
			return nil
		}
		out := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			kp := model.Key(path, k)
			if n.klns[i] > 0 {
				d.lines[kp] = n.klns[i]
			}
			v := d.decode(n.vals[i], t.Elem(), kp)
			if v == nil && t.Elem().Kind() != reflect.Pointer && t.Elem().Kind() != reflect.Slice && t.Elem().Kind() != reflect.Map {
				if n.vals[i].kind == kNull {
					d.errorf(kp, n.vals[i], "expected a value, got null")
				}
				continue
			}
			out[k] = v
		}
		return out
	case reflect.Slice:
		if n.kind != kList {
			d.errorf(path, n, "expected a list, got %s", describe(n))
			return nil
		}
		out := make([]any, len(n.items))
		for i, c := range n.items {
			out[i] = d.decode(c, t.Elem(), model.Index(path, i))
		}
		return out
	case reflect.String:
		if n.kind != kScalar {
			d.errorf(path, n, "expected a string, got %s", describe(n))
			return nil
		}
		return n.raw
	case reflect.Bool:
		if b, ok := n.val.(bool); ok && n.kind == kScalar {
			return b
		}
		if n.env != "" {
			if b, err := strconv.ParseBool(n.raw); err == nil {
				return b
			}
		}
		d.errorf(path, n, "expected true or false, got %s", describe(n))
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := intOf(n)
		if !ok {
			d.errorf(path, n, "expected an integer, got %s", describe(n))
			return nil
		}
		min, max := intRange(t)
		if i < min || i > max {
			d.errorf(path, n, "%d is outside %d..%d", i, min, max)
			return nil
		}
		return i
	case reflect.Float32, reflect.Float64:
		f, ok := floatOf(n)
		if !ok {
			d.errorf(path, n, "expected a number, got %s", describe(n))
			return nil
		}
		return f
	case reflect.Interface:
		return generic(n)
	}
	d.errorf(path, n, "unsupported field type %s", t)
	return nil
}

func describe(n *node) string {
	if n.kind != kScalar {
		return n.kind.String()
	}
	return strconv.Quote(n.raw)
}

func intOf(n *node) (int64, bool) {
	if n.kind != kScalar {
		return 0, false
	}
	switch v := n.val.(type) {
	case int64:
		return v, true
	case float64:
		if isIntegral(v) {
			return int64(v), true
		}
	case string:
		if n.env != "" {
			i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return i, err == nil
		}
	}
	return 0, false
}

func floatOf(n *node) (float64, bool) {
	if n.kind != kScalar {
		return 0, false
	}
	switch v := n.val.(type) {
	case int64:
		return float64(v), true
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, false
		}
		return v, true
	case string:
		if n.env != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
		}
	}
	return 0, false
}

func intRange(t reflect.Type) (int64, int64) {
	bits := t.Bits()
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if bits >= 63 {
			return 0, math.MaxInt64
		}
		return 0, 1<<bits - 1
	}
	if bits >= 64 {
		return math.MinInt64, math.MaxInt64
	}
	return -(1 << (bits - 1)), 1<<(bits-1) - 1
}

func generic(n *node) any {
	switch n.kind {
	case kMap:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = generic(n.vals[i])
		}
		return m
	case kList:
		l := make([]any, len(n.items))
		for i, c := range n.items {
			l[i] = generic(c)
		}
		return l
	case kScalar:
		return n.val
	}
	return nil
}

// jsonFields maps the JSON names of t's exported fields (tag "-" excluded) to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.StructField)
	}
	out := map[string]reflect.StructField{}
	defer fieldCache.Store(t, out)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

// suggest returns the known field closest to k (case-insensitive match or edit distance ≤ 2).
func suggest(k string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3
	lk := strings.ToLower(k)
	for name := range fields {
		ln := strings.ToLower(name)
		d := editDistance(lk, ln)
		if len(lk) >= 4 && len(ln) >= 4 && (strings.HasPrefix(lk, ln) || strings.HasPrefix(ln, lk)) {
			d = min(d, 2)
		}
		if d < bestD || d == bestD && name < best {
			best, bestD = name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
