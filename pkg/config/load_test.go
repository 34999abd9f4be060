package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func render(file string, ps model.Problems) string {
	var b bytes.Buffer
	FormatProblems(&b, file, ps)
	return b.String()
}

func TestFullConfigLoadsClean(t *testing.T) {
	cfg, ps := Load("testdata/full.yaml")
	if len(ps) != 0 {
		t.Fatalf("full.yaml has problems:\n%s", render("full.yaml", ps))
	}
	if cfg == nil {
		t.Fatal("nil config")
	}
	dir, _ := filepath.Abs("testdata")
	if got, want := cfg.DataDir, filepath.Join(dir, "data"); got != want {
		t.Errorf("data_dir = %q, want %q", got, want)
	}
	if got := cfg.API.Tokens[0].Secret; got != "admin-secret-token" {
		t.Errorf("token secret = %q", got)
	}
	if got := cfg.Zones[0].TSIG.Secret; got != "c2VjcmV0LWtleS1mb3ItdHJhbnNmZXJz" {
		t.Errorf("tsig secret = %q", got)
	}
	if got := cfg.Zones[1].Primaries[1]; got != "[2001:db8::53]:53" {
		t.Errorf("primaries[1] = %q", got)
	}
	if got := cfg.Zones[0].AlsoNotify[0]; got != "192.0.2.10:53" {
		t.Errorf("also_notify[0] = %q", got)
	}
	eu := model.DeriveID(model.KindPool, "eu")
	us := model.DeriveID(model.KindPool, "us")
	lb := cfg.LoadBalancers[0]
	if lb.DefaultPools[0] != eu || lb.DefaultPools[1] != us || lb.FallbackPool != model.DeriveID(model.KindPool, "cdn") {
		t.Errorf("references not resolved: %+v %q", lb.DefaultPools, lb.FallbackPool)
	}
	if lb.CountryPools["US-CA"][0] != us || lb.PopPools["LHR"][0] != eu || lb.RegionPools["WNAM"][1] != eu {
		t.Errorf("geo maps not resolved: %v %v %v", lb.CountryPools, lb.PopPools, lb.RegionPools)
	}
	if lb.Rules[0].Overrides.DefaultPools[0] != us {
		t.Errorf("rule override not resolved: %v", lb.Rules[0].Overrides.DefaultPools)
	}
	if w := cfg.LoadBalancers[1].RandomSteering.PoolWeights; w[eu] != 0.8 {
		t.Errorf("pool_weights keys not resolved: %v", w)
	}
	if cfg.LoadBalancers[2].FallbackPool != us {
		t.Errorf("fallback default = %q, want the last default pool", cfg.LoadBalancers[2].FallbackPool)
	}
	if got := cfg.Monitors[0].Header["Host"]; len(got) != 1 || got[0] != "www.example.com" {
		t.Errorf("header case lost: %v", cfg.Monitors[0].Header)
	}
	if cfg.Pools[0].Monitor != model.DeriveID(model.KindMonitor, "web") {
		t.Errorf("pool monitor = %q", cfg.Pools[0].Monitor)
	}
	if cfg.Notifications[0].Pools[0] != eu {
		t.Errorf("notification pools = %v", cfg.Notifications[0].Pools)
	}
	if m := cfg.Monitors[1]; m.Method != model.MethodConnectionEstablished || *m.Retries != 2 || m.Interval != 60 {
		t.Errorf("tcp monitor defaults: %+v", m)
	}
}

func TestBadConfigGolden(t *testing.T) {
	for _, name := range []string{"bad.yaml", "bad.json", "bad.toml"} {
		t.Run(name, func(t *testing.T) {
			_, ps := Load(filepath.Join("testdata", name))
			got := render(name, ps)
			golden := filepath.Join("testdata", strings.TrimSuffix(name, filepath.Ext(name))+"."+strings.TrimPrefix(filepath.Ext(name), ".")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s (run with -update and review the diff):\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
