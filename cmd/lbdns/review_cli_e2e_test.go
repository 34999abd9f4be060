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
	cmd := exec.Command(binPath, "check", "--config", cfg)
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
