package main

// Helpers of the API end-to-end tests (api_e2e_test.go, crash_e2e_test.go): a config with the
// API enabled, the API's address from the logs, a raw HTTP client that keeps the envelope, the
// real cloudflare-go client, loopback origins and DNS answer sets.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/miekg/dns"
)

const (
	e2eAccount    = "0123456789abcdef0123456789abcdef"
	e2eWriteToken = "e2e-write-token-7f3a9c"
	e2eReadToken  = "e2e-read-token-41b2d8"
)

// apiConfig is a config with DNS and the API on loopback port 0, a write and a read token and
// a data_dir; extra (monitors, pools, load_balancers) is appended.
func apiConfig(extra string) string {
	return `server:
  listen: ["127.0.0.1:0"]
api:
  listen: "127.0.0.1:0"
  account_id: "` + e2eAccount + `"
  tokens:
    - { name: admin, token_file: admin.token, scope: write }
    - { name: reader, token_file: reader.token, scope: read }
data_dir: data
zones:
  - name: example.test
    file: example.test.zone
` + extra
}

// apiServer is a running `lbdns serve` with its API.
type apiServer struct {
	*proc
	dir  string
	cfg  string
	API  string // host:port of the API listener
	base string // http://API/client/v4
}

// writeAPIFiles writes the config, tokens and zone into a new directory and returns it.
func writeAPIFiles(t *testing.T, extra string) (dir, cfg string) {
	t.Helper()
	dir = writeFiles(t, t.TempDir(), map[string]string{
		"lbdns.yaml":        apiConfig(extra),
		"admin.token":       e2eWriteToken + "\n",
		"reader.token":      e2eReadToken + "\n",
		"example.test.zone": coreZone,
	})
	return dir, filepath.Join(dir, "lbdns.yaml")
}

// startAPIServe starts lbdns on cfg and learns the API address from the log.
func startAPIServe(t *testing.T, dir, cfg string) *apiServer {
	t.Helper()
	p := startServe(t, cfg)
	s := &apiServer{proc: p, dir: dir, cfg: cfg, API: apiAddrOf(p)}
	if s.API == "" {
		t.Fatalf("no `serving HTTP` log line with listener api\n%s", p.logText())
	}
	s.base = "http://" + s.API + "/client/v4"
	return s
}

// apiAddrOf returns the address of the "api" HTTP listener from the logs ("" if none yet).
func apiAddrOf(p *proc) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.logs {
		if m["message"] == "serving HTTP" && m["listener"] == "api" {
			addr, _ := m["addr"].(string)
			return addr
		}
	}
	return ""
}

// acct is the account prefix of load-balancing paths.
const acct = "/accounts/" + e2eAccount + "/load_balancers"

// envelope is the API's reply. Raw keeps the top-level fields as sent (null vs []).
type envelope struct {
	Status     int
	Success    bool            `json:"success"`
	Errors     []envMsg        `json:"errors"`
	Messages   []envMsg        `json:"messages"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *resultInfo     `json:"result_info"`
	Raw        map[string]json.RawMessage
	Body       []byte
}

type envMsg struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

func (e *envelope) errText() string {
	var parts []string
	for _, m := range e.Errors {
		parts = append(parts, fmt.Sprintf("%d %s", m.Code, m.Message))
	}
	return strings.Join(parts, "; ")
}

// into decodes the result into v.
func (e *envelope) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Result, v); err != nil {
		t.Fatalf("result %s: %v", e.Result, err)
	}
}

// rawClient sends API requests with one token and returns the decoded envelope.
type rawClient struct {
	base  string
	token string
	hc    *http.Client
}

func newRaw(base, token string) *rawClient {
	return &rawClient{base: base, token: token, hc: &http.Client{Timeout: 10 * time.Second}}
}

// try sends one request; body may be nil, a string (sent as is) or a value (JSON).
func (c *rawClient) try(method, path string, body any) (*envelope, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	e := &envelope{Status: resp.StatusCode, Body: raw}
	if err := json.Unmarshal(raw, e); err != nil {
		return e, fmt.Errorf("%s %s: HTTP %d, body is not an envelope: %v\n%s", method, path, resp.StatusCode, err, raw)
	}
	if err := json.Unmarshal(raw, &e.Raw); err != nil {
		return e, err
	}
	return e, nil
}

func (c *rawClient) do(t *testing.T, method, path string, body any) *envelope {
	t.Helper()
	e, err := c.try(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ok sends a request that must succeed with 200.
func (c *rawClient) ok(t *testing.T, method, path string, body any) *envelope {
	t.Helper()
	e := c.do(t, method, path, body)
	if e.Status != http.StatusOK || !e.Success {
		t.Fatalf("%s %s: HTTP %d success=%v: %s", method, path, e.Status, e.Success, e.Body)
	}
	return e
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkEnvelope checks the envelope's shape (CONTRACT §4, ruling 35): success, errors and
// messages arrays (never null), result, and on lists a result array and result_info.
func checkEnvelope(t *testing.T, what string, e *envelope, list bool) {
	t.Helper()
	for _, k := range []string{"success", "errors", "messages", "result"} {
		if _, ok := e.Raw[k]; !ok {
			t.Errorf("%s: envelope lacks %q: %s", what, k, e.Body)
		}
	}
	for _, k := range []string{"errors", "messages"} {
		if v := strings.TrimSpace(string(e.Raw[k])); !strings.HasPrefix(v, "[") {
			t.Errorf("%s: %q is %s, want an array: %s", what, k, v, e.Body)
		}
	}
	if e.Success != (e.Status/100 == 2) {
		t.Errorf("%s: success=%v with HTTP %d", what, e.Success, e.Status)
	}
	if !e.Success {
		if len(e.Errors) == 0 {
			t.Errorf("%s: failure without errors: %s", what, e.Body)
		}
		for _, m := range e.Errors {
			if m.Code == 0 || m.Message == "" {
				t.Errorf("%s: error without code or message: %s", what, e.Body)
			}
		}
		return
	}
	if len(e.Errors) != 0 {
		t.Errorf("%s: success with errors: %s", what, e.Body)
	}
	if list {
		if v := strings.TrimSpace(string(e.Result)); !strings.HasPrefix(v, "[") {
			t.Errorf("%s: list result is %s, want an array", what, v)
		}
		if _, ok := e.Raw["result_info"]; !ok || e.ResultInfo == nil {
			t.Errorf("%s: list without result_info: %s", what, e.Body)
		} else {
			var ri map[string]json.RawMessage
			_ = json.Unmarshal(e.Raw["result_info"], &ri)
			for _, k := range []string{"page", "per_page", "count", "total_count", "total_pages"} {
				if _, ok := ri[k]; !ok {
					t.Errorf("%s: result_info lacks %q: %s", what, k, e.Raw["result_info"])
				}
			}
		}
	}
}

// cfClient is the real cloudflare-go client pointed at the API, without its 4 req/s limiter
// and without retries (a retried write would hide what the server answered).
func cfClient(t *testing.T, s *apiServer, token string) *cloudflare.API {
	t.Helper()
	c, err := cloudflare.NewWithAPIToken(token,
		cloudflare.BaseURL(s.base),
		cloudflare.UsingRateLimit(100000),
		cloudflare.UsingRetryPolicy(0, 0, 0),
		cloudflare.HTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cfStatus returns the HTTP status and error messages of a cloudflare-go error (0 if the
// error does not come from an API reply).
func cfStatus(err error) (int, string) {
	var e *cloudflare.Error
	if errors.As(err, &e) {
		return e.StatusCode, strings.Join(e.ErrorMessages, "; ")
	}
	return 0, fmt.Sprint(err)
}

// wantCFError fails unless err is an API error with status whose messages contain every sub.
func wantCFError(t *testing.T, what string, err error, status int, subs ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want HTTP %d", what, status)
		return
	}
	got, msg := cfStatus(err)
	if got != status {
		t.Errorf("%s: HTTP %d (%v), want %d", what, got, err, status)
		return
	}
	for _, sub := range subs {
		if !strings.Contains(msg, sub) {
			t.Errorf("%s: error %q does not name %q", what, msg, sub)
		}
	}
}

// wantError fails unless the raw reply has status and an error message containing every sub.
func wantError(t *testing.T, what string, e *envelope, status int, subs ...string) {
	t.Helper()
	checkEnvelope(t, what, e, false)
	if e.Status != status {
		t.Errorf("%s: HTTP %d (%s), want %d", what, e.Status, e.Body, status)
		return
	}
	if r := strings.TrimSpace(string(e.Result)); r != "null" {
		t.Errorf("%s: error reply with result %s", what, r)
	}
	msg := e.errText()
	for _, sub := range subs {
		if !strings.Contains(msg, sub) {
			t.Errorf("%s: error %q does not name %q", what, msg, sub)
		}
	}
}

// origins are HTTP listeners on several loopback addresses sharing one port, answering 200.
type origins struct {
	Port uint16
	hits atomic.Int64
	srv  map[string]*http.Server // by IP
}

// stop closes the listener of ip: its probes fail from then on.
func (o *origins) stop(ip string) { o.srv[ip].Close() }

// startOrigins listens on ip:port for every ip with one free port.
func startOrigins(t *testing.T, ips ...string) *origins {
	t.Helper()
	o := &origins{srv: map[string]*http.Server{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		io.WriteString(w, "ok\n")
	})
	lns, port := listenOnePort(t, ips...)
	for i, ln := range lns {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		o.srv[ips[i]] = srv
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	o.Port = uint16(port)
	return o
}

// dnsAnswer is the A answer of one query: the addresses (sorted) and the TTLs seen.
type dnsAnswer struct {
	Rcode int
	IPs   []string
	TTLs  []uint32
}

func (a dnsAnswer) String() string {
	return fmt.Sprintf("%s %v ttl %v", dns.RcodeToString[a.Rcode], a.IPs, a.TTLs)
}

// lookupA asks addr (UDP) for name A; errors are returned, not fatal (for goroutines).
func lookupA(c *dns.Client, addr, name string) (dnsAnswer, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	m.RecursionDesired = false
	r, _, err := c.ExchangeContext(context.Background(), m, addr)
	if err != nil {
		return dnsAnswer{}, err
	}
	a := dnsAnswer{Rcode: r.Rcode}
	for _, rr := range r.Answer {
		if x, ok := rr.(*dns.A); ok {
			a.IPs = append(a.IPs, x.A.String())
			a.TTLs = append(a.TTLs, x.Hdr.Ttl)
		}
	}
	slices.Sort(a.IPs)
	return a, nil
}

// waitAnswer queries name until its A set is want (sorted; nil = no A records) and returns how
// long that took; it fails the test after within (ruling 30 allows 1 s after a 2xx).
func waitAnswer(t *testing.T, addr, name string, want []string, within time.Duration) time.Duration {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	start := time.Now()
	var last dnsAnswer
	for {
		a, err := lookupA(c, addr, name)
		if err == nil && slices.Equal(a.IPs, want) {
			return time.Since(start)
		}
		if err == nil {
			last = a
		}
		if time.Since(start) > within {
			t.Fatalf("%s A: still %v (err %v) %s after the write, want %v", name, last, err, within, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
