package health

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// Default ports by monitor type (ruling 14: port 0 = 80 / 443 / 25 by type). tcp and udp_icmp
// have no natural port; they use 80 like http.
const (
	defaultHTTPPort  = 80
	defaultHTTPSPort = 443
	defaultSMTPPort  = 25
)

// bodyWindow is how much of a response body expected_body is searched in (Cloudflare: the
// first 10 KB). It also bounds every response read.
const bodyWindow = 10 * 1024

// spec is a monitor with its defaults applied and its fields parsed, ready to probe with.
type spec struct {
	id       string
	typ      string
	method   string
	path     string
	header   http.Header // without Host and User-Agent
	host     string      // the monitor's Host header, "" when none
	port     uint16      // 0 = by type
	timeout  time.Duration
	retries  int
	interval time.Duration
	codes    []codeRange
	codesErr error
	body     string // lower case
	follow   bool
	insecure bool
	up, down int
}

// newSpec applies the defaults of ruling 14 defensively (model.Normalize normally did already)
// and parses expected_codes.
func newSpec(m model.Monitor) *spec {
	s := &spec{
		id:       m.ID,
		typ:      strings.ToLower(m.Type),
		method:   strings.ToUpper(m.Method),
		path:     m.Path,
		port:     m.Port,
		timeout:  time.Duration(m.Timeout) * time.Second,
		retries:  model.DefaultRetries,
		interval: time.Duration(m.Interval) * time.Second,
		body:     strings.ToLower(m.ExpectedBody),
		follow:   m.FollowRedirects,
		insecure: m.AllowInsecure,
		up:       m.ConsecutiveUp,
		down:     m.ConsecutiveDown,
		header:   http.Header{},
	}
	if s.typ == "" {
		s.typ = model.MonitorHTTP
	}
	if s.method == "" {
		s.method = http.MethodGet
	}
	if s.path == "" {
		s.path = model.DefaultPath
	}
	if !strings.HasPrefix(s.path, "/") {
		s.path = "/" + s.path
	}
	if m.Timeout <= 0 {
		s.timeout = model.DefaultTimeout * time.Second
	}
	if m.Retries != nil && *m.Retries >= 0 {
		s.retries = *m.Retries
	}
	if m.Interval <= 0 {
		s.interval = model.DefaultInterval * time.Second
	}
	if s.up <= 0 {
		s.up = model.DefaultConsecutiveUp
	}
	if s.down <= 0 {
		s.down = model.DefaultConsecutiveDown
	}
	codes := m.ExpectedCodes
	if codes == "" {
		codes = model.DefaultExpectedCodes
	}
	s.codes, s.codesErr = parseCodes(codes)
	for k, vs := range m.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Host":
			if len(vs) > 0 {
				s.host = vs[0]
			}
		case "User-Agent": // cannot be overridden (Cloudflare)
		default:
			for _, v := range vs {
				s.header.Add(k, v)
			}
		}
	}
	return s
}

// portFor is the port a probe of origin o uses: the origin's port, else the monitor's, else
// the type's default. icmp_ping has no port.
func (s *spec) portFor(o model.Origin) uint16 {
	switch {
	case s.typ == model.MonitorICMPPing:
		return 0
	case o.Port != 0:
		return o.Port
	case s.port != 0:
		return s.port
	case s.typ == model.MonitorHTTPS:
		return defaultHTTPSPort
	case s.typ == model.MonitorSMTP:
		return defaultSMTPPort
	}
	return defaultHTTPPort
}

// hostFor is the Host header (and TLS SNI) of a probe: origin header.Host > monitor
// header.Host > origin address (ruling 14). The address form carries the port when it is not
// the scheme's default, as a browser would send it.
func (s *spec) hostFor(o model.Origin, port uint16) string {
	if h := firstHost(o.Header); h != "" {
		return h
	}
	if s.host != "" {
		return s.host
	}
	if (s.typ == model.MonitorHTTP && port == defaultHTTPPort) || (s.typ == model.MonitorHTTPS && port == defaultHTTPSPort) {
		if strings.Contains(o.Address, ":") {
			return "[" + o.Address + "]"
		}
		return o.Address
	}
	return net.JoinHostPort(o.Address, strconv.Itoa(int(port)))
}

func firstHost(h map[string][]string) string {
	for k, vs := range h {
		if http.CanonicalHeaderKey(k) == "Host" && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// codeRange is one accepted status range of expected_codes.
type codeRange struct{ lo, hi int }

// parseCodes reads expected_codes: "200", "2xx", or a list of those separated by commas or
// spaces ("200,301", "2xx 302").
func parseCodes(s string) ([]codeRange, error) {
	var out []codeRange
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		f = strings.ToLower(f)
		switch {
		case len(f) == 3 && f[1:] == "xx" && f[0] >= '1' && f[0] <= '5':
			lo := int(f[0]-'0') * 100
			out = append(out, codeRange{lo, lo + 99})
		default:
			n, err := strconv.Atoi(f)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("expected_codes: %q is not a status code or Nxx range", f)
			}
			out = append(out, codeRange{n, n})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("expected_codes: %q names no code", s)
	}
	return out, nil
}

func (s *spec) codeOK(code int) bool {
	for _, r := range s.codes {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// userAgent is the fixed probe User-Agent (Cloudflare's shape: product and the first 16
// characters of the pool id). Monitor headers cannot override it.
func userAgent(product, poolID string) string {
	if len(poolID) > 16 {
		poolID = poolID[:16]
	}
	return "Mozilla/5.0 (compatible; " + product + "; +https://github.com/lbdns/lbdns; pool-id: " + poolID + ")"
}
