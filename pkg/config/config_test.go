package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/rules"
)

// minimal is a small valid config used by the tests below; paths are relative to testdata/.
const minimal = `
server:
  listen: ["127.0.0.1:5353"]
zones:
  - name: example.com
    file: zones/example.com.zone
pools:
  - name: eu
    origins:
      - { name: a, address: 192.0.2.1 }
load_balancers:
  - name: lb.example.com
    default_pools: [eu]
`

func parseIn(t *testing.T, name, doc string) (*Config, model.Problems) {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse([]byte(doc), abs)
}

func TestMinimalDefaults(t *testing.T) {
	cfg, ps := parseIn(t, "min.yaml", minimal)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if cfg.Log.Level != DefaultLogLevel || cfg.Log.Format != DefaultLogFormat || cfg.API != nil || cfg.Metrics != nil || cfg.GeoIP != nil {
		t.Errorf("defaults: %+v", cfg)
	}
	if model.DeriveID("account", "lbdns") != DefaultAccountID {
		t.Error("DefaultAccountID is not DeriveID(\"account\", \"lbdns\")")
	}
	cfg, ps = parseIn(t, "min.yaml", "zones: []\n")
	if len(ps) != 0 || cfg.Server.Listen[0] != DefaultListen {
		t.Errorf("empty config: %v %v", ps, cfg.Server.Listen)
	}
}

func TestUnknownKeys(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"serverr: {}\n", "serverr: unknown field (did you mean server?)"},
		{"server: {listen: [':53'], lisen: x}\n", "server.lisen: unknown field (did you mean listen?)"},
		{"pools: [{name: eu, origins: [{name: a, address: 192.0.2.1}, {name: b, address: 192.0.2.2, wieght: 1}]}]\n",
			"pools[0].origins[1].wieght: unknown field (did you mean weight?)"},
		{"load_balancers: [{name: x.example.com, default_pools: [a], rules: [{overrides: {tll: 5}}]}]\n",
			"load_balancers[0].rules[0].overrides.tll: unknown field (did you mean ttl?)"},
		{"api: {listen: ':1', tokens: [{name: a, token_file: secrets/admin.token, scope: read, secret: x}]}\n",
			"api.tokens[0].secret: unknown field"},
		{"zones: [{name: example.com, file: zones/example.com.zone, tsig: {name: k, algorithm: hmac-sha256, secret_file: secrets/xfr.key, key: x}}]\n",
			"zones[0].tsig.key: unknown field"},
		{"pools: [{name: eu, origins: [{name: a, address: 192.0.2.1}], load_shedding: {default_percentage: 5}}]\n",
			"pools[0].load_shedding.default_percentage: unknown field (did you mean default_percent?)"},
	}
	for _, c := range cases {
		_, ps := parseIn(t, "u.yaml", c.doc)
		found := false
		for _, p := range ps {
			if p.String() == c.want && p.Line == 1 {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: want %q at line 1, got %v", c.doc, c.want, ps)
		}
	}
}

func TestShapes(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"pools: {name: eu}\n", `pools: expected a list, got a map`},
		{"monitors: [{name: m, header: {Host: example.com}}]\n", `monitors[0].header.Host: expected a list, got "example.com"`},
		{"monitors: [{name: m, port: 70000}]\n", `monitors[0].port: 70000 is outside 0..65535`},
		{"monitors: [{name: m, timeout: 1.5}]\n", `monitors[0].timeout: expected an integer, got "1.5"`},
		{"load_balancers: [{name: a.example.com, proxied: yes}]\n", `load_balancers[0].proxied: expected true or false, got "yes"`},
		{"server: [1]\n", `server: expected a map of fields, got a list`},
	}
	for _, c := range cases {
		_, ps := parseIn(t, "s.yaml", c.doc)
		found := false
		for _, p := range ps {
			found = found || p.String() == c.want
		}
		if !found {
			t.Errorf("%q: want %q, got %v", c.doc, c.want, ps)
		}
	}
	// YAML numbers become strings where a string is expected.
	cfg, _ := parseIn(t, "s.yaml", "monitors: [{name: m, expected_codes: 200, description: 12}]\n")
	if cfg.Monitors[0].ExpectedCodes != "200" || cfg.Monitors[0].Description != "12" {
		t.Errorf("coercion: %+v", cfg.Monitors[0])
	}
}

func TestSyntaxErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"a.yaml": "server: [\n",
		"b.yaml": "a: 1\na: 2\n",
		"c.json": "{\"server\": }",
		"d.json": "{\"a\": 1, \"a\": 2}",
		"e.toml": "server = [",
		"f.ini":  "x",
		"g.yaml": "- 1\n- 2\n",
	} {
		cfg, ps := parseIn(t, name, doc)
		if cfg != nil || len(ps) != 1 || !ps.HasErrors() {
			t.Errorf("%s: want one error and no config, got %v", name, ps)
			continue
		}
		t.Logf("%s", render(name, ps))
		if wantLine := strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".toml"); wantLine != (ps[0].Line > 0) {
			t.Errorf("%s: line %d", name, ps[0].Line)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Setenv("LBDNS_SERVER_LISTEN", "127.0.0.1:1053, [::1]:1053")
	t.Setenv("LBDNS_DATA_DIR", "state")
	t.Setenv("LBDNS_METRICS_LISTEN", "127.0.0.1:9999")
	t.Setenv("LBDNS_API_LISTEN", "127.0.0.1:8888")
	t.Setenv("LBDNS_SERVER_UDP_SOCKETS", "4")
	t.Setenv("LBDNS_SERVER_POP_CODE", "AMS")
	t.Setenv("LBDNS_SERVER_POP_LATITUDE", "52.3")
	t.Setenv("LBDNS_SERVER_POP_LONGITUDE", "4.8")
	t.Setenv("LBDNS_LOG_LEVEL", "warn")
	cfg, ps := parseIn(t, "env.yaml", minimal)
	if len(ps) != 1 || ps[0].Path != "api.tokens" || !ps[0].Warning {
		t.Fatalf("problems: %v", ps)
	}
	if got := []string(cfg.Server.Listen); !reflect.DeepEqual(got, []string{"127.0.0.1:1053", "[::1]:1053"}) {
		t.Errorf("listen = %v", got)
	}
	dir, _ := filepath.Abs("testdata")
	if cfg.DataDir != filepath.Join(dir, "state") || cfg.Metrics.Listen != "127.0.0.1:9999" || cfg.API.Listen != "127.0.0.1:8888" ||
		cfg.Server.UDPSockets != 4 || cfg.Server.PoP.Code != "AMS" || *cfg.Server.PoP.Latitude != 52.3 || cfg.Log.Level != "warn" {
		t.Errorf("overrides: %+v %+v", cfg, cfg.Server.PoP)
	}
	t.Setenv("LBDNS_SERVER_LISTEN", "127.0.0.1:1053")
	t.Setenv("LBDNS_SERVER_POP_LATITUDE", "north")
	cfg, ps = parseIn(t, "env.yaml", minimal)
	if len(cfg.Server.Listen) != 1 || cfg.Server.Listen[0] != "127.0.0.1:1053" {
		t.Errorf("single listen = %v", cfg.Server.Listen)
	}
	if !strings.Contains(render("env.yaml", ps), `server.pop.latitude: expected a number, got "north"`) {
		t.Errorf("bad env value: %v", ps)
	}
	if EnvName("server.pop.code") != "LBDNS_SERVER_POP_CODE" {
		t.Error("EnvName")
	}
}

func TestRelativePaths(t *testing.T) {
	doc := minimal + "data_dir: /var/lib/lbdns\ngeoip: {city: geoip/city.mmdb}\n"
	cfg, ps := parseIn(t, "rel.yaml", doc)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	dir, _ := filepath.Abs("testdata")
	if cfg.Zones[0].File != filepath.Join(dir, "zones/example.com.zone") || cfg.GeoIP.City[0] != filepath.Join(dir, "geoip/city.mmdb") || cfg.DataDir != "/var/lib/lbdns" {
		t.Errorf("paths: %q %q %q", cfg.Zones[0].File, cfg.GeoIP.City[0], cfg.DataDir)
	}
	// Loading through a relative path from another working directory gives the same result.
	t.Chdir("..")
	cfg2, ps := Load(filepath.Join("config", "testdata", "full.yaml"))
	if len(ps) != 0 || cfg2.Zones[0].File != filepath.Join(dir, "zones/example.com.zone") {
		t.Errorf("from another directory: %v %q", ps, cfg2.Zones[0].File)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ content, secret, err string }{
		{"tok\n", "tok", ""},
		{"tok\r\n", "tok", ""},
		{"tok", "tok", ""},
		{"", "", "is empty"},
		{"\n", "", "is empty"},
		{"a\nb\n", "", "on one line"},
		{" tok\n", "", "white space"},
	}
	for i, c := range cases {
		p := write("t"+string(rune('a'+i)), c.content)
		got, err := readSecret(p, "shown")
		if c.err == "" && (err != nil || got != c.secret) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: got %q, %v", c.content, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "tok") {
			t.Errorf("secret leaked into the error: %v", err)
		}
	}
}

// TestFormatsEquivalent loads full.yaml, converts it to JSON and TOML, and checks the three
// give the same Config.
func TestFormatsEquivalent(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	ref, ps := parseIn(t, "full.yaml", string(data))
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	js, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := toml.Marshal(dropNulls(doc))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"full.json": js, "full.toml": tm} {
		cfg, ps := parseIn(t, name, string(b))
		if len(ps) != 0 {
			t.Fatalf("%s: %v\n%s", name, ps, b)
		}
		cfg.File = ref.File
		cfg.lines = ref.lines // field lines differ between formats by nature
		if !reflect.DeepEqual(cfg, ref) {
			a, _ := json.MarshalIndent(cfg, "", " ")
			b, _ := json.MarshalIndent(ref, "", " ")
			t.Errorf("%s differs from full.yaml:\n%s\n---\n%s", name, a, b)
		}
	}
}

func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if e != nil {
				out[k] = dropNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = dropNulls(e)
		}
		return out
	}
	return v
}

func TestJSONLines(t *testing.T) {
	doc := "{\n\t\"server\": {\n\t\t\"listen\": [\"nope\"]\n\t},\n\t\"pools\": [\n\t\t{\"name\": \"eu\",\n\t\t \"origins\": []}\n\t]\n}\n"
	_, ps := parseIn(t, "lines.json", doc)
	got := render("lines.json", ps)
	want := "lines.json:3: server.listen[0]: \"nope\" is not host:port (missing port in address)\n" +
		"lines.json:7: pools[0].origins: a pool needs at least one origin\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatProblems(t *testing.T) {
	ps := model.Problems{
		{Path: "pools[2].origins[0].weight", Msg: "2.5 is outside 0..1", Line: 12},
		{Path: "pools[1].minimum_origins", Msg: "too many", Warning: true},
	}
	want := "c.yaml:12: pools[2].origins[0].weight: 2.5 is outside 0..1\nwarning: c.yaml: pools[1].minimum_origins: too many\n"
	if got := render("c.yaml", ps); got != want {
		t.Errorf("got %q", got)
	}
}

// TestRuleConditions wires the real rules compiler into model.RuleChecker, as the program does.
func TestRuleConditions(t *testing.T) {
	old := model.RuleChecker
	defer func() { model.RuleChecker = old }()
	model.RuleChecker = func(cond string) error { _, err := rules.Compile(cond); return err }
	doc := minimal + `    rules:
      - name: ok
        condition: 'ip.src.country == "NL"'
        overrides: { ttl: 10 }
      - name: http
        condition: 'http.host == "x"'
`
	_, ps := parseIn(t, "rules.yaml", doc)
	if len(ps) != 1 || ps[0].Path != "load_balancers[0].rules[1].condition" || ps[0].Line != 19 || ps[0].Warning ||
		!strings.Contains(ps[0].Msg, "http.host") {
		t.Fatalf("want one error at load_balancers[0].rules[1].condition line 19, got %q", render("rules.yaml", ps))
	}
}

func TestZoneLookup(t *testing.T) {
	c := &Config{Zones: []Zone{{Name: "example.com"}, {Name: "sub.example.com"}}}
	if z := c.Zone("a.sub.example.com"); z == nil || z.Name != "sub.example.com" {
		t.Errorf("longest match: %v", z)
	}
	if z := c.Zone("Example.COM."); z == nil || z.Name != "example.com" {
		t.Errorf("apex: %v", z)
	}
	if c.Zone("example.org") != nil || c.Zone("badexample.com") != nil {
		t.Error("outside")
	}
	got := withPort([]string{"192.0.2.1", "2001:db8::1", "[2001:db8::2]", "192.0.2.3:5300", "ns.example.com"})
	want := []string{"192.0.2.1:53", "[2001:db8::1]:53", "[2001:db8::2]:53", "192.0.2.3:5300", "ns.example.com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withPort = %v", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	cfg, ps := Load("testdata/nope.yaml")
	if cfg != nil || render("nope.yaml", ps) != "nope.yaml: cannot read the config file: no such file or directory\n" {
		t.Errorf("got %q", render("nope.yaml", ps))
	}
}
