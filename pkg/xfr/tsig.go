package xfr

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
)

// RawRequester is implemented by a dns.ResponseWriter that can hand back the request exactly
// as it was received: Handle needs those bytes to verify a TSIG signature.
type RawRequester interface {
	RawRequest() []byte
}

// tsigFudge is the time window of our signatures (RFC 8945 §10 recommends 300 s).
const tsigFudge = 300

// key is a zone's TSIG key with names in wire form (lowercase FQDN).
type key struct {
	name   string // "xfr-key."
	alg    string // "hmac-sha256."
	secret string // base64
}

func newKey(t *config.TSIG) (*key, error) {
	if t == nil {
		return nil, nil
	}
	alg := dns.Fqdn(strings.ToLower(t.Algorithm))
	switch alg {
	case dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512:
	default:
		return nil, fmt.Errorf("tsig %s: unsupported algorithm %q", t.Name, t.Algorithm)
	}
	if _, err := base64.StdEncoding.DecodeString(t.Secret); err != nil || t.Secret == "" {
		return nil, fmt.Errorf("tsig %s: the secret is not base64", t.Name)
	}
	return &key{name: dns.CanonicalName(t.Name), alg: alg, secret: t.Secret}, nil
}

// sign packs m signed with k. prevMAC is the request's MAC (a reply) or the previous
// message's (later messages of a transfer, timersOnly). It returns the wire message and its MAC.
func (k *key) sign(m *dns.Msg, prevMAC string, timersOnly bool) ([]byte, string, error) {
	m.SetTsig(k.name, k.alg, tsigFudge, time.Now().Unix())
	return dns.TsigGenerate(m, k.secret, prevMAC, timersOnly)
}

// tsigCheck is the outcome of verifying a signed request.
type tsigCheck struct {
	signed bool
	name   string // the request's key name and algorithm
	alg    string
	key    *key   // the key that signed it (nil when unknown)
	mac    string // the request's MAC, for the reply
	err    uint16 // TSIG error: 0, BADKEY, BADSIG or BADTIME
}

// verifyRequest checks the TSIG of req (raw: the received bytes, or nil). keys are the keys the
// request may be signed with.
func verifyRequest(w dns.ResponseWriter, req *dns.Msg, keys ...*key) tsigCheck {
	t := req.IsTsig()
	if t == nil {
		return tsigCheck{}
	}
	name, alg := dns.CanonicalName(t.Hdr.Name), dns.CanonicalName(t.Algorithm)
	c := tsigCheck{signed: true, name: name, alg: alg, mac: t.MAC}
	for _, k := range keys {
		if k != nil && k.name == name && k.alg == alg {
			c.key = k
			break
		}
	}
	if c.key == nil {
		c.err = dns.RcodeBadKey
		return c
	}
	var candidates [][]byte
	if rr, ok := w.(RawRequester); ok {
		if b := rr.RawRequest(); len(b) > 0 {
			candidates = append(candidates, b)
		}
	}
	if len(candidates) == 0 {
		// Re-pack the parsed request, compressed and not: one of them is usually the sender's
		// bytes (the question and a TSIG leave little room for other choices).
		for _, compress := range []bool{true, false} {
			m := req.Copy()
			m.Compress = compress
			if b, err := m.Pack(); err == nil {
				candidates = append(candidates, b)
			}
		}
	}
	c.err = dns.RcodeBadSig
	for _, b := range candidates {
		err := dns.TsigVerify(b, c.key.secret, "", false)
		switch {
		case err == nil:
			c.err = 0
			return c
		case errors.Is(err, dns.ErrTime):
			c.err = dns.RcodeBadTime
			return c
		}
	}
	return c
}

// reply packs m as the answer to a request checked by c: signed with the request's key when
// the request was signed and verified, with an unsigned TSIG error record when it failed
// (RFC 8945 §5.3.2). It returns the bytes and the MAC for the next message.
func (c *tsigCheck) reply(m *dns.Msg, prevMAC string, timersOnly bool) ([]byte, string, error) {
	if !c.signed {
		b, err := m.Pack()
		return b, "", err
	}
	if c.err != 0 {
		m.Rcode = dns.RcodeNotAuth
		m.SetTsig(c.name, c.alg, tsigFudge, time.Now().Unix())
		if c.err == dns.RcodeBadKey || c.err == dns.RcodeBadSig || c.key == nil {
			// Unsigned, with the error in a TSIG record that names the request's key.
			m.Extra[len(m.Extra)-1].(*dns.TSIG).Error = c.err
			b, _, err := dns.TsigGenerate(m, "", "", false)
			return b, "", err
		}
		m.Extra[len(m.Extra)-1].(*dns.TSIG).Error = c.err
		return dns.TsigGenerate(m, c.key.secret, c.mac, false)
	}
	if prevMAC == "" {
		prevMAC = c.mac
	}
	return c.key.sign(m, prevMAC, timersOnly)
}
