package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

func TestHTTPProbe(t *testing.T) {
	var mu sync.Mutex
	var seen *http.Request
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Clone(context.Background())
		mu.Unlock()
		io.WriteString(w, "Service is ALIVE and well")
	})
	mux.HandleFunc("/err", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	mux.HandleFunc("/redir", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/far", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", bodyWindow)+"alive")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := portOf(t, srv.Listener.Addr().String())
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "elsewhere alive, host "+r.Host)
	}))
	defer other.Close()
	mux.HandleFunc("/abs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	p, _ := testProber(t, Options{})
	o := origin("a", "127.0.0.1", port)

	cases := []struct {
		name   string
		m      func(*model.Monitor)
		ok     bool
		reason string
		code   int
	}{
		{"200", func(m *model.Monitor) { m.Path = "/ok" }, true, ReasonOK, 200},
		{"default codes reject 503", func(m *model.Monitor) { m.Path = "/err" }, false, ReasonCodeMismatch, 503},
		{"5xx accepted", func(m *model.Monitor) { m.Path = "/err"; m.ExpectedCodes = "5xx" }, true, ReasonOK, 503},
		{"list", func(m *model.Monitor) { m.Path = "/err"; m.ExpectedCodes = "200, 503" }, true, ReasonOK, 503},
		{"2xx", func(m *model.Monitor) { m.Path = "/ok"; m.ExpectedCodes = "2xx" }, true, ReasonOK, 200},
		{"body case-insensitive", func(m *model.Monitor) { m.Path = "/ok"; m.ExpectedBody = "alive" }, true, ReasonOK, 200},
		{"body missing", func(m *model.Monitor) { m.Path = "/ok"; m.ExpectedBody = "dead" }, false, ReasonBodyMismatch, 200},
		{"body after 10 KB", func(m *model.Monitor) { m.Path = "/far"; m.ExpectedBody = "alive" }, false, ReasonBodyMismatch, 200},
		{"redirect not followed", func(m *model.Monitor) { m.Path = "/redir" }, false, ReasonCodeMismatch, 302},
		{"redirect expected", func(m *model.Monitor) { m.Path = "/redir"; m.ExpectedCodes = "302" }, true, ReasonOK, 302},
		{"redirect followed", func(m *model.Monitor) { m.Path = "/redir"; m.FollowRedirects = true; m.ExpectedBody = "alive" }, true, ReasonOK, 200},
		{"redirect to another host followed", func(m *model.Monitor) {
			m.Path = "/abs"
			m.FollowRedirects = true
			m.ExpectedBody = "host " + other.Listener.Addr().String()
		}, true, ReasonOK, 200},
		{"redirect loop", func(m *model.Monitor) { m.Path = "/loop"; m.FollowRedirects = true }, false, ReasonCodeMismatch, 302},
		{"404", func(m *model.Monitor) { m.Path = "/missing" }, false, ReasonCodeMismatch, 404},
		{"timeout", func(m *model.Monitor) { m.Path = "/slow"; m.Timeout = 1 }, false, ReasonHTTPTimeout, 0},
		{"bad codes", func(m *model.Monitor) { m.ExpectedCodes = "abc" }, false, ReasonConfig, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.Probe(context.Background(), mon(model.MonitorHTTP, c.m), o, "0123456789abcdef0123")
			if r.Healthy != c.ok || r.Reason != c.reason || r.Code != c.code {
				t.Fatalf("got healthy=%v reason=%q code=%d, want %v %q %d", r.Healthy, r.Reason, r.Code, c.ok, c.reason, c.code)
			}
		})
	}

	t.Run("closed port", func(t *testing.T) {
		r := p.Probe(context.Background(), mon(model.MonitorHTTP), origin("b", "127.0.0.1", closedPort(t)), "p")
		if r.Healthy || r.Reason != ReasonTCPFailed {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("headers seen by the origin", func(t *testing.T) {
		m := mon(model.MonitorHTTP, func(m *model.Monitor) {
			m.Path = "/ok?x=1"
			m.Method = "get"
			m.Header = map[string][]string{"X-App-ID": {"abc123"}, "Host": {"monitor.example"}, "User-Agent": {"evil"}}
		})
		check := func(o model.Origin, wantHost string) {
			t.Helper()
			if r := p.Probe(context.Background(), m, o, "0123456789abcdef0123"); !r.Healthy {
				t.Fatalf("probe failed: %+v", r)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen.Host != wantHost {
				t.Errorf("Host %q, want %q", seen.Host, wantHost)
			}
			if got := seen.Header.Get("X-App-ID"); got != "abc123" {
				t.Errorf("X-App-ID %q", got)
			}
			ua := seen.Header.Get("User-Agent")
			if !strings.Contains(ua, "lbdns") || !strings.Contains(ua, "pool-id: 0123456789abcdef)") {
				t.Errorf("User-Agent %q", ua)
			}
			if seen.URL.RawQuery != "x=1" || seen.Method != "GET" {
				t.Errorf("request %s %s", seen.Method, seen.URL)
			}
		}
		check(o, "monitor.example") // monitor Host beats the address
		oh := o
		oh.Header = map[string][]string{"Host": {"origin.example"}}
		check(oh, "origin.example") // origin Host beats the monitor's
		m.Header = map[string][]string{"X-App-ID": {"abc123"}}
		check(o, fmt.Sprintf("127.0.0.1:%d", port)) // else the address
	})

	t.Run("hostname origin", func(t *testing.T) {
		p2, _ := testProber(t, Options{Resolver: stubResolver{"origin.test": "127.0.0.1"}})
		if r := p2.Probe(context.Background(), mon(model.MonitorHTTP, func(m *model.Monitor) { m.Path = "/ok" }), origin("h", "origin.test", port), "p"); !r.Healthy {
			t.Fatalf("got %+v", r)
		}
		mu.Lock()
		host := seen.Host
		mu.Unlock()
		if host != fmt.Sprintf("origin.test:%d", port) {
			t.Errorf("Host %q", host)
		}
		r := p2.Probe(context.Background(), mon(model.MonitorHTTP), origin("h", "nowhere.test", port), "p")
		if r.Healthy || r.Reason != ReasonUnknownHost {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 != 0 { // fails twice, then passes
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	p, _ := testProber(t, Options{})
	o := origin("a", "127.0.0.1", portOf(t, srv.Listener.Addr().String()))
	r := p.Probe(context.Background(), mon(model.MonitorHTTP, func(m *model.Monitor) { m.Retries = model.Ptr(2) }), o, "p")
	if !r.Healthy || r.Tries != 3 {
		t.Fatalf("retries 2: got %+v", r)
	}
	r = p.Probe(context.Background(), mon(model.MonitorHTTP, func(m *model.Monitor) { m.Retries = model.Ptr(1) }), o, "p")
	if r.Healthy || r.Tries != 2 || r.Code != 500 {
		t.Fatalf("retries 1: got %+v", r)
	}
	// Nil retries means the default, 2: three tries.
	n.Store(0)
	r = p.Probe(context.Background(), mon(model.MonitorHTTP, func(m *model.Monitor) { m.Retries = nil }), o, "p")
	if !r.Healthy || r.Tries != 3 {
		t.Fatalf("default retries: got %+v", r)
	}
}

func TestHTTPSProbe(t *testing.T) {
	var sni atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni.Store(h.ServerName)
		return nil, nil
	}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	p, _ := testProber(t, Options{})
	o := origin("a", "127.0.0.1", portOf(t, srv.Listener.Addr().String()))
	m := mon(model.MonitorHTTPS, func(m *model.Monitor) { m.Header = map[string][]string{"Host": {"secure.example"}} })

	r := p.Probe(context.Background(), m, o, "p")
	if r.Healthy || r.Reason != ReasonTLSUntrusted {
		t.Fatalf("self-signed without allow_insecure: got %+v", r)
	}
	if got, _ := sni.Load().(string); got != "secure.example" {
		t.Errorf("SNI %q, want secure.example", got)
	}
	m.AllowInsecure = true
	r = p.Probe(context.Background(), m, o, "p")
	if !r.Healthy || r.Code != 200 {
		t.Fatalf("allow_insecure: got %+v", r)
	}
	// Plain HTTP to a TLS port is a protocol failure, not a pass.
	r = p.Probe(context.Background(), mon(model.MonitorHTTP), o, "p")
	if r.Healthy || r.Code != 400 {
		t.Fatalf("http to https port: got %+v", r)
	}
	// HTTPS to a plain HTTP server.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	r = p.Probe(context.Background(), m, origin("b", "127.0.0.1", portOf(t, plain.Listener.Addr().String())), "p")
	if r.Healthy || !strings.HasPrefix(r.Reason, "TLS") {
		t.Fatalf("https to http port: got %+v", r)
	}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p, _ := testProber(t, Options{})
	if r := p.Probe(context.Background(), mon(model.MonitorTCP), origin("a", "127.0.0.1", portOf(t, l.Addr().String())), "p"); !r.Healthy || r.Reason != ReasonOK {
		t.Fatalf("open port: got %+v", r)
	}
	if r := p.Probe(context.Background(), mon(model.MonitorTCP), origin("a", "127.0.0.1", closedPort(t)), "p"); r.Healthy || r.Reason != ReasonTCPFailed {
		t.Fatalf("closed port: got %+v", r)
	}
	// Monitor port applies when the origin has none.
	m := mon(model.MonitorTCP, func(m *model.Monitor) { m.Port = portOf(t, l.Addr().String()) })
	if r := p.Probe(context.Background(), m, origin("a", "127.0.0.1", 0), "p"); !r.Healthy {
		t.Fatalf("monitor port: got %+v", r)
	}
}

// smtpServer is a small real SMTP responder; helo is its reply code to HELO.
func smtpServer(t *testing.T, greeting, helo int) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%d-mail.test ESMTP\r\n%d mail.test ready\r\n", greeting, greeting)
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.ToUpper(strings.Fields(line + " x")[0]) {
					case "HELO":
						fmt.Fprintf(c, "%d mail.test\r\n", helo)
					case "QUIT":
						fmt.Fprintf(c, "221 bye\r\n")
						return
					default:
						fmt.Fprintf(c, "500 what\r\n")
					}
				}
			}()
		}
	}()
	return portOf(t, l.Addr().String())
}

func TestSMTPProbe(t *testing.T) {
	p, _ := testProber(t, Options{})
	cases := []struct {
		name           string
		greeting, helo int
		ok             bool
		code           int
	}{
		{"good", 220, 250, true, 221},
		{"HELO refused", 220, 550, false, 550},
		{"busy", 554, 250, false, 554},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := origin("mx", "127.0.0.1", smtpServer(t, c.greeting, c.helo))
			r := p.Probe(context.Background(), mon(model.MonitorSMTP), o, "p")
			if r.Healthy != c.ok || r.Code != c.code {
				t.Fatalf("got %+v", r)
			}
			if !c.ok && r.Reason != ReasonCodeMismatch {
				t.Fatalf("reason %q", r.Reason)
			}
		})
	}
	r := p.Probe(context.Background(), mon(model.MonitorSMTP), origin("mx", "127.0.0.1", closedPort(t)), "p")
	if r.Healthy || r.Reason != ReasonTCPFailed {
		t.Fatalf("closed: got %+v", r)
	}
}

func TestUDPICMPProbe(t *testing.T) {
	p, _ := testProber(t, Options{})
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(u.LocalAddr().(*net.UDPAddr).Port)
	u.Close() // now closed: the kernel answers port unreachable
	r := p.Probe(context.Background(), mon(model.MonitorUDPICMP), origin("u", "127.0.0.1", port), "p")
	if r.Healthy || r.Reason != ReasonPortUnreachable {
		t.Fatalf("closed udp port: got %+v", r)
	}
	// An open port that answers passes at once.
	u, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	go func() {
		b := make([]byte, 512)
		for {
			n, from, err := u.ReadFromUDP(b)
			if err != nil {
				return
			}
			u.WriteToUDP(b[:n], from)
		}
	}()
	r = p.Probe(context.Background(), mon(model.MonitorUDPICMP), origin("u", "127.0.0.1", uint16(u.LocalAddr().(*net.UDPAddr).Port)), "p")
	if !r.Healthy {
		t.Fatalf("open udp port: got %+v", r)
	}
}

func TestICMPPing(t *testing.T) {
	p, logs := testProber(t, Options{})
	r := p.Probe(context.Background(), mon(model.MonitorICMPPing), origin("lo", "127.0.0.1", 0), "p")
	if p.icmpMode() == icmpNone {
		if r.Reason != ReasonICMPNotPermitted || !strings.Contains(logs.String(), "ping_group_range") {
			t.Fatalf("no icmp: got %+v, log %s", r, logs)
		}
		t.Skip("neither ping sockets nor raw sockets are permitted here")
	}
	if !r.Healthy {
		t.Fatalf("ping 127.0.0.1: got %+v (mode %d)", r, p.icmpMode())
	}
	t.Logf("icmp mode %d, rtt %v", p.icmpMode(), r.RTT)
}

func TestICMPNotPermitted(t *testing.T) {
	saved := icmpListen
	icmpListen = func(network, address string) (*icmpPacketConn, error) {
		return nil, fmt.Errorf("%s: operation not permitted", network)
	}
	defer func() { icmpListen = saved }()
	p, logs := testProber(t, Options{})
	r := p.Probe(context.Background(), mon(model.MonitorICMPPing), origin("lo", "127.0.0.1", 0), "p")
	if r.Healthy || r.Reason != ReasonICMPNotPermitted {
		t.Fatalf("got %+v", r)
	}
	out := logs.String()
	if !strings.Contains(out, `"level":"error"`) || !strings.Contains(out, "ping_group_range") || !strings.Contains(out, "CAP_NET_RAW") {
		t.Fatalf("log does not explain: %s", out)
	}
}
