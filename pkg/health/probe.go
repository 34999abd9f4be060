package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// Failure reasons: Cloudflare's strings (seed-model §13) where one fits, else ours.
const (
	ReasonOK                = "No failures"
	ReasonTCPFailed         = "TCP connection failed"
	ReasonHTTPTimeout       = "HTTP timeout occurred"
	ReasonCodeMismatch      = "Response code mismatch error"
	ReasonBodyMismatch      = "Response body mismatch error"
	ReasonTLSUntrusted      = "TLS untrusted certificate error"
	ReasonTLSNameMismatch   = "TLS name mismatch error"
	ReasonTLSProtocol       = "TLS protocol error"
	ReasonTLSUnrecognized   = "TLS unrecognized name error"
	ReasonTLSHandshake      = "TLS Handshake Failure"
	ReasonNoRoute           = "No route to host error"
	ReasonNetUnreachable    = "Network Unreachable"
	ReasonTCPTimeout        = "TCP Timeout"
	ReasonInvalidResponse   = "HTTP Invalid Response"
	ReasonUnknownHost       = "DNS Unknown Host"
	ReasonConnReset         = "Connection Reset by Peer"
	ReasonConfig            = "Monitor Config Error"
	ReasonOther             = "Other Failure"
	ReasonPortUnreachable   = "UDP port unreachable"   // lbdns: ICMP port unreachable to a udp_icmp probe
	ReasonICMPTimeout       = "ICMP echo timeout"      // lbdns: no echo reply within the timeout
	ReasonICMPNotPermitted  = "ICMP not permitted"     // lbdns: no ping socket and no raw socket
	ReasonNotProbed         = "Not probed yet"         // lbdns: unknown state, no result so far
	ReasonProbeNotAvailable = "Probe type unsupported" // lbdns: unknown monitor type
)

// Result is the outcome of one probe (all its tries).
type Result struct {
	Healthy bool
	Reason  string         // ReasonOK when healthy
	Code    int            // HTTP status or SMTP reply code of the last try, 0 when none
	RTT     time.Duration  // of the last try: its duration (udp_icmp passed by silence: the echo's)
	Addr    netip.AddrPort // where the last try went (resolved address)
	Tries   int
}

// Probe runs one probe of origin with monitor m now: up to retries+1 tries, each bounded by
// the timeout; it passes when one try passes. poolID names the pool in the User-Agent.
func (p *Prober) Probe(ctx context.Context, m model.Monitor, origin model.Origin, poolID string) Result {
	s := newSpec(m)
	port := s.portFor(origin)
	return p.probe(ctx, s, origin.Address, port, s.hostFor(origin, port), userAgent(p.product, poolID))
}

// probe runs the tries of one probe.
func (p *Prober) probe(ctx context.Context, s *spec, address string, port uint16, host, ua string) Result {
	var r Result
	for try := 0; try <= s.retries; try++ {
		r = p.try(ctx, s, address, port, host, ua)
		r.Tries = try + 1
		if r.Healthy || ctx.Err() != nil || r.Reason == ReasonConfig || r.Reason == ReasonICMPNotPermitted {
			break
		}
	}
	return r
}

func (p *Prober) try(ctx context.Context, s *spec, address string, port uint16, host, ua string) Result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	ip, err := netip.ParseAddr(address)
	if err != nil {
		ips, lerr := p.resolver.LookupNetIP(ctx, "ip", address)
		if lerr != nil || len(ips) == 0 {
			return Result{Reason: ReasonUnknownHost, RTT: time.Since(start)}
		}
		ip = ips[0]
		for _, a := range ips { // prefer IPv4, as most origins are reachable over it
			if a.Unmap().Is4() {
				ip = a
				break
			}
		}
	}
	ip = ip.Unmap()
	ap := netip.AddrPortFrom(ip, port)
	var r Result
	switch s.typ {
	case model.MonitorHTTP, model.MonitorHTTPS:
		r = p.tryHTTP(ctx, s, ap, host, ua)
	case model.MonitorTCP:
		r = tryTCP(ctx, ap)
	case model.MonitorSMTP:
		r = trySMTP(ctx, ap)
	case model.MonitorUDPICMP:
		r = p.tryUDP(ctx, ap, s.timeout)
	case model.MonitorICMPPing:
		r = p.ping(ctx, ip)
	default:
		r = Result{Reason: ReasonProbeNotAvailable}
	}
	if r.RTT == 0 { // a try may report a better RTT than its duration (udp_icmp: the echo's)
		r.RTT = time.Since(start)
	}
	r.Addr = ap
	if r.Healthy {
		r.Reason = ReasonOK
	}
	return r
}

var dialer = &net.Dialer{}

func tryTCP(ctx context.Context, ap netip.AddrPort) Result {
	c, err := dialer.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return Result{Reason: dialReason(err)}
	}
	c.Close()
	return Result{Healthy: true}
}

// bindDeadline makes c's reads and writes end with ctx: at its deadline, or at once when it
// is cancelled (a stopping prober). Call the returned func when done with c.
func bindDeadline(ctx context.Context, c interface{ SetDeadline(time.Time) error }) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

// dialReason names a failed connection attempt.
func dialReason(err error) string {
	switch {
	case errors.Is(err, syscall.EHOSTUNREACH):
		return ReasonNoRoute
	case errors.Is(err, syscall.ENETUNREACH):
		return ReasonNetUnreachable
	}
	return ReasonTCPFailed
}

// maxRedirects bounds follow_redirects, as browsers and net/http do.
const maxRedirects = 10

// tryHTTP makes one HTTP(S) exchange on a fresh connection (no net/http Transport: a probe
// needs one request, and its own connection per try keeps each try a real test of the
// origin). Host is sent as the Host header and TLS SNI; the connection goes to ap. With
// follow_redirects, a redirect to the same host:port stays on the origin, others resolve
// normally.
func (p *Prober) tryHTTP(ctx context.Context, s *spec, ap netip.AddrPort, host, ua string) Result {
	scheme := "http"
	if s.typ == model.MonitorHTTPS {
		scheme = "https"
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.Trim(hostname, "[]")
	urlHost := net.JoinHostPort(hostname, strconv.Itoa(int(ap.Port())))
	u, err := url.Parse(scheme + "://" + urlHost + s.path)
	if err != nil || s.codesErr != nil {
		return Result{Reason: ReasonConfig}
	}
	method := s.method
	for hop := 0; ; hop++ {
		addr, sni, hostHdr := ap.String(), hostname, host
		if u.Host != urlHost {
			addr, sni, hostHdr = u.Host, u.Hostname(), u.Host
			if u.Port() == "" {
				addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return Result{Reason: ReasonConfig}
		}
		for k, vs := range s.header {
			req.Header[k] = vs
		}
		req.Host = hostHdr
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Connection", "close")
		var loc string
		r := roundTrip(ctx, u.Scheme == "https", addr, sni, s.insecure, req, func(resp *http.Response) Result {
			r := Result{Code: resp.StatusCode}
			switch resp.StatusCode {
			case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
				if s.follow && hop < maxRedirects {
					loc = resp.Header.Get("Location")
					if loc != "" {
						return r
					}
				}
			}
			if !s.codeOK(resp.StatusCode) {
				r.Reason = ReasonCodeMismatch
				return r
			}
			if s.body != "" {
				b, err := io.ReadAll(io.LimitReader(resp.Body, bodyWindow))
				if err != nil && len(b) == 0 {
					r.Reason = httpReason(ctx, err)
					return r
				}
				if !strings.Contains(strings.ToLower(string(b)), s.body) {
					r.Reason = ReasonBodyMismatch
					return r
				}
			}
			r.Healthy = true
			return r
		})
		if loc == "" || r.Reason != "" {
			return r
		}
		next, err := u.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
			return Result{Code: r.Code, Reason: ReasonCodeMismatch}
		}
		if r.Code == http.StatusSeeOther {
			method = http.MethodGet
		}
		u = next
	}
}

// roundTrip sends req over a new connection to addr and hands the response to check. Every
// read is bounded: headers and body together by 64 KB + the body window.
func roundTrip(ctx context.Context, useTLS bool, addr, sni string, insecure bool, req *http.Request, check func(*http.Response) Result) Result {
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Result{Reason: dialReason(err)}
	}
	defer c.Close()
	defer bindDeadline(ctx, c)()
	if useTLS {
		tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS10}) //nolint:gosec // allow_insecure is the user's choice
		if err := tc.HandshakeContext(ctx); err != nil {
			return Result{Reason: httpReason(ctx, err)}
		}
		c = tc
	}
	if err := req.Write(c); err != nil {
		return Result{Reason: httpReason(ctx, err)}
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(c, 64<<10+bodyWindow)), req)
	if err != nil {
		return Result{Reason: httpReason(ctx, err)}
	}
	defer resp.Body.Close()
	return check(resp)
}

// httpReason names a failed HTTP(S) exchange after the TCP connection was made.
func httpReason(ctx context.Context, err error) string {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &invalid):
		return ReasonTLSUntrusted
	case errors.As(err, &hostErr):
		// Go checks the name first; an untrusted certificate is the deeper problem.
		if _, verr := hostErr.Certificate.Verify(x509.VerifyOptions{}); verr != nil {
			return ReasonTLSUntrusted
		}
		return ReasonTLSNameMismatch
	case strings.Contains(msg, "unrecognized name"):
		return ReasonTLSUnrecognized
	case errors.As(err, &recErr), strings.Contains(msg, "protocol version"), strings.Contains(msg, "HTTP response to HTTPS client"):
		return ReasonTLSProtocol
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil, errors.As(err, &ne) && ne.Timeout():
		return ReasonHTTPTimeout
	case strings.Contains(msg, "tls:"):
		return ReasonTLSHandshake
	case errors.Is(err, syscall.ECONNRESET):
		return ReasonConnReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(msg, "malformed HTTP"):
		return ReasonInvalidResponse
	}
	return ReasonOther
}

// trySMTP opens the connection, expects the 220 greeting, sends HELO (→ 250) and QUIT (→ 221).
func trySMTP(ctx context.Context, ap netip.AddrPort) Result {
	c, err := dialer.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return Result{Reason: dialReason(err)}
	}
	defer c.Close()
	defer bindDeadline(ctx, c)()
	// Replies are read through a bounded reader: a hostile origin cannot make us buffer more.
	tp := textproto.NewReader(bufio.NewReader(io.LimitReader(c, 64<<10)))
	step := func(send string, want int) Result {
		if send != "" {
			if _, err := fmt.Fprintf(c, "%s\r\n", send); err != nil {
				return Result{Reason: smtpReason(err)}
			}
		}
		code, _, err := tp.ReadResponse(want)
		if err != nil {
			var pe textproto.ProtocolError
			if code != 0 || errors.As(err, &pe) {
				if code == 0 {
					return Result{Reason: ReasonInvalidResponse}
				}
				return Result{Code: code, Reason: ReasonCodeMismatch}
			}
			return Result{Code: code, Reason: smtpReason(err)}
		}
		return Result{Healthy: true, Code: code}
	}
	for _, st := range []struct {
		send string
		want int
	}{{"", 220}, {"HELO lbdns", 250}, {"QUIT", 221}} {
		if r := step(st.send, st.want); !r.Healthy {
			return r
		} else if st.want == 221 {
			return r
		}
	}
	return Result{Reason: ReasonOther}
}

func smtpReason(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return ReasonTCPTimeout
	case errors.Is(err, syscall.ECONNRESET):
		return ReasonConnReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonInvalidResponse
	}
	return ReasonOther
}

// tryUDP is the udp_icmp probe: an echo request first when ICMP is available, then a UDP
// datagram to the port; an ICMP port unreachable within the timeout fails the probe, silence
// or an answer passes it.
//
// A probe that passes by silence lasts the whole timeout, so its RTT (dynamic_latency,
// ruling 12) is the echo's round trip when there was one, not the try's duration.
func (p *Prober) tryUDP(ctx context.Context, ap netip.AddrPort, timeout time.Duration) Result {
	var echoRTT time.Duration
	if p.icmpMode() != icmpNone {
		start := time.Now()
		if r := p.ping(ctx, ap.Addr()); !r.Healthy {
			return r
		}
		echoRTT = max(time.Since(start), time.Nanosecond)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return Result{Reason: dialReason(err)}
	}
	defer c.Close()
	defer bindDeadline(ctx, c)()
	// Two datagrams: the first may only prime the kernel's error queue on some paths.
	buf := make([]byte, 512)
	for i := 0; i < 2; i++ {
		if _, err := c.Write([]byte("lbdns health probe\n")); err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return Result{Reason: ReasonPortUnreachable}
			}
			return Result{Reason: dialReason(err)}
		}
		_, err := c.Read(buf)
		switch {
		case err == nil:
			return Result{Healthy: true}
		case errors.Is(err, syscall.ECONNREFUSED):
			return Result{Reason: ReasonPortUnreachable}
		case errors.Is(err, syscall.EHOSTUNREACH):
			return Result{Reason: ReasonNoRoute}
		case errors.Is(err, syscall.ENETUNREACH):
			return Result{Reason: ReasonNetUnreachable}
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return Result{Healthy: true, RTT: echoRTT} // no port unreachable within the timeout
		}
	}
	return Result{Reason: ReasonOther}
}
