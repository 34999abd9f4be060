package api

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// badPath returns the path inside raw ("origins[1].weight", "rules[0].overrides.bogus") of the
// first value that does not decode strictly into t: an unknown field or a value of the wrong
// type. encoding/json names neither the list index of a wrong type nor the path of an unknown
// field, so a message built from its error alone would not name the field (CONTRACT §4).
// It returns "" when it finds nothing more precise than path.
func badPath(raw json.RawMessage, t reflect.Type, path string) string {
	if isNull(raw) {
		return ""
	}
	switch t.Kind() {
	case reflect.Pointer:
		return badPath(raw, t.Elem(), path)
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return path
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ft, ok := jsonField(t, k)
			sub := joinField(path, k)
			if !ok {
				return sub
			}
			if p := badPath(m[k], ft, sub); p != "" {
				return p
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			break // []byte is a base64 string
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return path
		}
		for i, it := range items {
			if p := badPath(it, t.Elem(), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
		return ""
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return path
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if p := badPath(m[k], t.Elem(), joinField(path, k)); p != "" {
				return p
			}
		}
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(reflect.New(t).Interface()) != nil {
		return path
	}
	return ""
}

func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonField finds the field of struct type t that the JSON key name decodes into, as
// encoding/json does (exact tag or field name first, then case-insensitively).
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	var fold reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		key, _, _ := strings.Cut(tag, ",")
		if key == "" {
			key = f.Name
		}
		if key == name {
			return f.Type, true
		}
		if fold == nil && strings.EqualFold(key, name) {
			fold = f.Type
		}
	}
	return fold, fold != nil
}
