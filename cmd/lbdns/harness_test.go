package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// binPath is the lbdns binary built once for every end-to-end test of this package.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lbdns-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binPath = filepath.Join(dir, "lbdns")
	args := []string{"build", "-o", binPath}
	if os.Getenv("LBDNS_E2E_BUILD_RACE") == "1" {
		// Every e2e test against a binary built with the race detector; a race ends the
		// process (halt_on_error), so the test that provoked it fails.
		args = append(args, "-race")
		os.Setenv("GORACE", "halt_on_error=1")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build lbdns: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `lbdns serve`.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []map[string]any
	raw  []string
	done chan struct{}
	err  error

	DNS     string // first UDP address served
	TCP     string // first TCP address served
	HTTP    []string
	ready   chan struct{}
	onceRdy sync.Once
}

// writeFiles writes name → content under dir and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startServe runs `lbdns serve --config cfg` and waits until it logs "ready".
func startServe(t *testing.T, cfg string, env ...string) *proc {
	t.Helper()
	p := startServeNoWait(t, cfg, env...)
	select {
	case <-p.ready:
	case <-p.done:
		t.Fatalf("lbdns exited before ready: %v\n%s", p.err, p.logText())
	case <-time.After(20 * time.Second):
		t.Fatalf("lbdns not ready after 20s\n%s", p.logText())
	}
	return p
}

// startServeNoWait starts `lbdns serve --config cfg` and returns at once; it is stopped when
// the test ends.
func startServeNoWait(t *testing.T, cfg string, env ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{}), ready: make(chan struct{})}
	p.cmd = exec.Command(binPath, "serve", "--config", cfg)
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.readLogs(stderr)
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) readLogs(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		p.mu.Lock()
		p.raw = append(p.raw, line)
		if m != nil {
			p.logs = append(p.logs, m)
			switch m["message"] {
			case "serving DNS":
				addr, _ := m["addr"].(string)
				if m["net"] == "udp" && p.DNS == "" {
					p.DNS = addr
				}
				if m["net"] == "tcp" && p.TCP == "" {
					p.TCP = addr
				}
			case "serving HTTP":
				addr, _ := m["addr"].(string)
				p.HTTP = append(p.HTTP, addr)
			case "ready":
				p.onceRdy.Do(func() { close(p.ready) })
			}
		}
		p.mu.Unlock()
	}
}

func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.raw, "\n")
}

// waitLog waits until a log line with the given message appears (counting from index from).
func (p *proc) waitLog(msg string, from int, timeout time.Duration) (map[string]any, int) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for i := from; i < len(p.logs); i++ {
			if p.logs[i]["message"] == msg {
				m := p.logs[i]
				p.mu.Unlock()
				return m, i + 1
			}
		}
		p.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	p.t.Fatalf("no log %q within %s\n%s", msg, timeout, p.logText())
	return nil, from
}

func (p *proc) logCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.logs)
}

func (p *proc) signal(s syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// stop sends SIGTERM and waits; it fails the test if lbdns does not exit 0 in time.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("lbdns did not exit within 10s of SIGTERM")
	}
}

// query sends one query over net ("udp" or "tcp") and returns the reply.
func query(t *testing.T, netw, addr, name string, qtype uint16, opts ...func(*dns.Msg)) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	for _, o := range opts {
		o(m)
	}
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", netw, name, dns.TypeToString[qtype], err)
	}
	return r
}

// listenOnePort listens on TCP on every ip with one common port (found by trying a port free
// on the first address on the others too), for origins that share a monitor's port.
func listenOnePort(t *testing.T, ips ...string) ([]net.Listener, int) {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		first, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatalf("listen on %s: %v", ips[0], err)
		}
		lns := []net.Listener{first}
		port := first.Addr().(*net.TCPAddr).Port
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(ips) {
			return lns, port
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatalf("no common free port on %v", ips)
	return nil, 0
}
