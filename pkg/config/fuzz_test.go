package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary documents to the parser in each format: it must never panic, and
// every problem must say something.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"full.yaml", "bad.yaml", "bad.json", "bad.toml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(len(name)%3))
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"), uint8(0))
	f.Add([]byte(`{"pools":[{"origins":[null]}],"load_balancers":[{"rules":[null]}]}`), uint8(1))
	f.Add([]byte("[[pools]]\nname = 1\n"), uint8(2))
	dir, err := filepath.Abs("testdata")
	if err != nil {
		f.Fatal(err)
	}
	exts := []string{"fuzz.yaml", "fuzz.json", "fuzz.toml"}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		_, ps := Parse(data, filepath.Join(dir, exts[int(format)%len(exts)]))
		for _, p := range ps {
			if p.Msg == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
		}
	})
}
