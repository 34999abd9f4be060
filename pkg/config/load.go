package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/viper"

	"github.com/lbdns/lbdns/pkg/model"
)

// EnvPrefix is the prefix of environment overrides: LBDNS_SERVER_LISTEN overrides
// server.listen.
const EnvPrefix = "LBDNS"

// Load reads, decodes, completes and validates the config file at path (format chosen by the
// extension: .yaml, .yml, .json, .toml). It returns the config and every problem found, errors
// and warnings, sorted in document order, each with its field path and, when known, its line
// (Problem.Line). The config is nil when the file cannot be read or parsed; otherwise it is
// returned even with problems (callers decide: `check` exits 1 on any error, ruling 41).
func Load(path string) (*Config, model.Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, model.Problems{{Msg: fmt.Sprintf("cannot read the config file: %v", unwrapPathErr(err))}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return Parse(data, abs)
}

// Parse is Load for a document already in memory; path gives the format (its extension) and
// the directory relative paths are resolved against. The file itself is not read, but the
// files it names are (zone files, secrets, GeoIP databases) to check them.
func Parse(data []byte, path string) (*Config, model.Problems) {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format == "yml" {
		format = "yaml"
	}
	if format != "yaml" && format != "json" && format != "toml" {
		return nil, model.Problems{{Msg: fmt.Sprintf("unknown config format %q: the file name must end in .yaml, .yml, .json or .toml", filepath.Ext(path))}}
	}
	tree, err := parse(data, format)
	if err != nil {
		return nil, model.Problems{syntaxProblem(err)}
	}
	if tree.kind == kNull {
		tree = &node{kind: kMap}
	}
	if tree.kind != kMap {
		return nil, model.Problems{{Msg: fmt.Sprintf("the config file must hold a map of sections, not %s", tree.kind), Line: tree.line}}
	}
	applyEnv(tree)

	d := &decoder{lines: map[string]int{}, bad: map[string]bool{}, env: map[string]string{}}
	raw := d.decode(tree, reflect.TypeFor[Config](), "")
	js, err := json.Marshal(raw)
	if err != nil {
		return nil, append(d.ps, model.Problem{Msg: "internal error: " + err.Error()})
	}
	cfg := &Config{File: path}
	if err := json.Unmarshal(js, cfg); err != nil {
		// The walk checked every shape, so this is a value json refuses (e.g. a huge number).
		return nil, append(d.ps, model.Problem{Msg: err.Error()})
	}

	var ps model.Problems
	dir := filepath.Dir(path)
	cfg.dir = dir
	cfg.lines = d.lines
	cfg.defaults()
	cfg.resolvePaths(dir)
	ps.Add(cfg.validate())

	// Drop problems under a path that failed to decode: they repeat the decoding error.
	kept := d.ps
	for _, p := range ps {
		if !under(p.Path, d.bad) {
			kept = append(kept, p)
		}
	}
	kept = kept.Dedup()
	for i := range kept {
		if name := envOf(d.env, kept[i].Path); name != "" {
			// The value is not the file's: no file line, and say where it came from.
			kept[i].Line = 0
			kept[i].Msg += " (from " + name + ")"
			continue
		}
		if kept[i].Line == 0 {
			kept[i].Line = lineOf(d.lines, kept[i].Path)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Line < kept[j].Line })
	return cfg, kept
}

// under reports whether path or one of its ancestors is in bad.
func under(path string, bad map[string]bool) bool {
	for path != "" {
		if bad[path] {
			return true
		}
		cut := max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['))
		if cut <= 0 {
			return false
		}
		path = path[:cut]
	}
	return false
}

// envOf returns the LBDNS_ variable that set path or one of its ancestors, "" if none did.
func envOf(env map[string]string, path string) string {
	for path != "" {
		if name, ok := env[path]; ok {
			return name
		}
		cut := max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['))
		if cut <= 0 {
			return ""
		}
		path = path[:cut]
	}
	return ""
}

// LineOf returns the line in the config file of field path (or of its nearest ancestor that
// the file sets), 0 when unknown: for problems found after Load (a GeoIP file that does not
// open).
func (c *Config) LineOf(path string) int {
	if c == nil {
		return 0
	}
	return lineOf(c.lines, path)
}

// lineOf returns the line of path or of its nearest ancestor present in the file.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		cut := max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['))
		if cut <= 0 {
			break
		}
		path = path[:cut]
	}
	if l, ok := lines[path]; ok {
		return l
	}
	return 0
}

// envKeys lists the keys the environment may override: every scalar or StringList reachable
// from Config through structs only (not through lists or maps), e.g. "server.pop.code".
func envKeys() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		fields := jsonFields(t)
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ft := fields[n].Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			key := model.Field(prefix, n)
			switch {
			case ft == typeStringList:
				keys = append(keys, key)
			case ft.Kind() == reflect.Struct && ft != typeTime:
				walk(ft, key)
			case ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map:
			default:
				keys = append(keys, key)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

// EnvName returns the environment variable that overrides key ("server.listen" →
// "LBDNS_SERVER_LISTEN").
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// applyEnv puts the LBDNS_ overrides into the tree, through viper's environment binding.
func applyEnv(tree *node) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, key := range envKeys() {
		name := EnvName(key)
		if err := v.BindEnv(key, name); err != nil {
			continue
		}
		if !v.IsSet(key) {
			continue
		}
		val := v.GetString(key)
		leaf := &node{kind: kScalar, raw: val, val: val, env: name}
		if key == "server.listen" || key == "geoip.city" {
			leaf = &node{kind: kList, env: name}
			for _, s := range strings.Split(val, ",") {
				if s = strings.TrimSpace(s); s != "" {
					leaf.items = append(leaf.items, &node{kind: kScalar, raw: s, val: s, env: name})
				}
			}
		}
		setPath(tree, strings.Split(key, "."), leaf)
	}
}

func setPath(n *node, keys []string, leaf *node) {
	for _, k := range keys[:len(keys)-1] {
		c := n.get(k)
		if c == nil || c.kind != kMap {
			c = &node{kind: kMap}
			n.set(k, c)
		}
		n = c
	}
	n.set(keys[len(keys)-1], leaf)
}

// defaults fills the omitted keys of the file's own sections and normalises the catalog.
func (c *Config) defaults() {
	if len(c.Server.Listen) == 0 {
		c.Server.Listen = StringList{DefaultListen}
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.API != nil && c.API.AccountID == "" {
		c.API.AccountID = DefaultAccountID
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
	for i := range c.Zones {
		z := &c.Zones[i]
		z.Name = model.NormalizeName(z.Name)
		z.Primaries = withPort(z.Primaries)
		z.AlsoNotify = withPort(z.AlsoNotify)
	}
	cat := c.Catalog()
	cat.Normalize()
	c.Monitors, c.MonitorGroups, c.Pools, c.LoadBalancers = cat.Monitors, cat.MonitorGroups, cat.Pools, cat.LoadBalancers
}

// resolvePaths makes every file path absolute, relative to dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.DataDir)
	if c.GeoIP != nil {
		for i := range c.GeoIP.City {
			abs(&c.GeoIP.City[i])
		}
		abs(&c.GeoIP.ASN)
	}
	for i := range c.Zones {
		abs(&c.Zones[i].File)
		if t := c.Zones[i].TSIG; t != nil {
			abs(&t.SecretFile)
		}
	}
	if c.API != nil {
		for i := range c.API.Tokens {
			abs(&c.API.Tokens[i].TokenFile)
		}
	}
}

var lineRE = regexp.MustCompile(`^(?:yaml: |toml: )?line (\d+): `)

// syntaxProblem turns a parser error into a problem, moving "line N:" into Problem.Line.
func syntaxProblem(err error) model.Problem {
	msg := err.Error()
	p := model.Problem{Msg: "syntax error: " + msg}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			p.Line = n
			p.Msg = "syntax error: " + strings.TrimPrefix(msg[len(m[0]):], "yaml: ")
		}
	}
	return p
}
