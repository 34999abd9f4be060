package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Problem is one finding of validation: Path names the field (`pools[2].origins[0].weight`,
// or `origins[0].weight` when the API validates a single object with an empty prefix), Msg
// says what is wrong, and Warning marks findings that do not make the object invalid (fields
// with no effect in DNS-only mode, a pool that can never be healthy…). Line is the line of the
// field in the config file when known (0 otherwise); the API ignores it.
type Problem struct {
	Path    string
	Msg     string
	Warning bool
	Line    int
}

// String returns "path: msg", or msg alone when the path is empty.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Problems is a list of findings in the order they were found.
type Problems []Problem

// Errorf appends an error at path.
func (ps *Problems) Errorf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Warnf appends a warning at path.
func (ps *Problems) Warnf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// Add appends other.
func (ps *Problems) Add(other Problems) { *ps = append(*ps, other...) }

// HasErrors reports whether any problem is an error (not a warning).
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// Errors returns the problems that are errors.
func (ps Problems) Errors() Problems { return ps.filter(false) }

// Warnings returns the problems that are warnings.
func (ps Problems) Warnings() Problems { return ps.filter(true) }

func (ps Problems) filter(warning bool) Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning == warning {
			out = append(out, p)
		}
	}
	return out
}

// Dedup removes repeated problems (same path, message and severity), keeping the first.
func (ps Problems) Dedup() Problems {
	seen := make(map[Problem]bool, len(ps))
	out := ps[:0:0]
	for _, p := range ps {
		k := p
		k.Line = 0
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}

// Err returns nil when there is no error, else an error whose message lists every error
// ("path: msg; path: msg"). Warnings are left out.
func (ps Problems) Err() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, p := range errs {
		msgs[i] = p.String()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Field returns the path of field name below prefix: Field("pools[2]", "name") is
// "pools[2].name" and Field("", "name") is "name".
func Field(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Index returns the path of element i of the list at path: "origins[3]".
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// Key returns the path of map entry key below path: "country_pools.US", or
// `header["X Y"]` when the key is not a plain word.
func Key(path, key string) string {
	plain := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			plain = false
			break
		}
	}
	if plain {
		return Field(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}
