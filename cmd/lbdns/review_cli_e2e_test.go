package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCheck runs `lbdns check --config cfg` with extra environment and returns the exit code,
// stdout and stderr.
func runCheck(t *testing.T, cfg string, env ...string) (int, string, string) {
	t.Helper()
	return runLBDNS(t, env, "check", "--config", cfg)
}

// runLBDNS runs bin/lbdns with args (and env added to the environment) and returns its exit
// code, stdout and stderr.
func runLBDNS(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestCheckEnvProblemNamesVariable: a bad value from an LBDNS_ variable is reported with the
// variable's name and without the line of the file's value it replaced (the file is fine).
func TestCheckEnvProblemNamesVariable(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml":        coreConfig,
		"example.test.zone": coreZone,
	})
	cfg := filepath.Join(dir, "lbdns.yaml")
	code, _, stderr := runCheck(t, cfg, "LBDNS_SERVER_LISTEN=127.0.0.1:0,notanaddr", "LBDNS_SERVER_UDP_SOCKETS=abc")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 problem lines, got:\n%s", stderr)
	}
	for _, want := range []string{
		cfg + `: server.listen[1]: "notanaddr" is not host:port (missing port in address) (from LBDNS_SERVER_LISTEN)`,
		cfg + `: server.udp_sockets: expected an integer, got "abc" (from LBDNS_SERVER_UDP_SOCKETS)`,
	} {
		if !strings.Contains(stderr, want+"\n") {
			t.Errorf("stderr lacks the line %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, cfg+":2:") {
		t.Errorf("an environment value is blamed on line 2 of the file:\n%s", stderr)
	}
}

// TestCheckOneLinePerProblem: a problem whose text holds a newline (here a quoted YAML key)
// still takes exactly one line of check's stderr (ruling 41).
func TestCheckOneLinePerProblem(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml":        coreConfig + "\"bad\\nkey\": 1\n",
		"example.test.zone": coreZone,
	})
	code, stdout, stderr := runCheck(t, filepath.Join(dir, "lbdns.yaml"))
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, want 1 and nothing\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `lbdns.yaml:8: bad\nkey: unknown field`) {
		t.Fatalf("want one line naming the key, got:\n%s", stderr)
	}
}

// TestExplainSecondaryZoneLB: a load balancer inside a secondary zone (lbdns serves it once
// transferred) is explained, from the copy kept in data_dir/secondary, instead of failing
// with "not inside any served zone"; without a copy the zone answers SERVFAIL (ruling 40).
func TestExplainSecondaryZoneLB(t *testing.T) {
	cfg := `data_dir: data
zones:
  - name: example.test
    file: example.test.zone
  - name: corp.example
    primaries: ["127.0.0.1:1"]
pools:
  - { name: web, origins: [{ name: w1, address: 198.51.100.1 }] }
load_balancers:
  - { name: www.corp.example, default_pools: [web] }
`
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml":        cfg,
		"example.test.zone": coreZone,
	})
	explain := func() (int, string, string) {
		return runLBDNS(t, nil, "explain", "--config", filepath.Join(dir, "lbdns.yaml"), "www.corp.example", "A", "--client", "192.0.2.9")
	}
	code, out, errOut := explain()
	if code != 0 || !strings.Contains(out, "rcode SERVFAIL") {
		t.Fatalf("no copy: exit %d, want 0 and SERVFAIL\n%s%s", code, out, errOut)
	}
	writeFiles(t, dir, map[string]string{"data/secondary/corp.example.zone": `corp.example. 300 IN SOA ns1.corp.example. h.corp.example. 7 300 60 604800 300
corp.example. 300 IN NS ns1.corp.example.
ns1.corp.example. 300 IN A 192.0.2.53
www.corp.example. 300 IN A 192.0.2.80
`})
	code, out, errOut = explain()
	if code != 0 || !strings.Contains(out, "www.corp.example.\t30\tIN\tA\t198.51.100.1") || strings.Contains(out, "192.0.2.80") {
		t.Fatalf("with the copy: exit %d, want 0 and the load balancer's answer\n%s%s", code, out, errOut)
	}
}
