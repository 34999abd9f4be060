package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	tsigKey    = "xfr-key."
	tsigSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
)

// signedQuery packs a query for name/qtype signed with the test key. The question name keeps
// its case and the message is not compressed: a re-pack of the parsed message would differ.
func signedQuery(t testing.TB, name string, qtype uint16) []byte {
	t.Helper()
	m := newQuery(name, qtype, 1232, false)
	m.Compress = false
	m.SetTsig(tsigKey, dns.HmacSHA256, 300, time.Now().Unix())
	b, _, err := dns.TsigGenerate(m, tsigSecret, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawHook is an XfrFunc that records what it is handed. It answers signed SOA queries and
// AXFR (signed, with a reply that a TSIG client verifies) and declines everything else.
type rawHook struct {
	mu    sync.Mutex
	raw   [][]byte
	types []uint16
}

func (h *rawHook) fn(t *testing.T) XfrFunc {
	return func(w dns.ResponseWriter, req *dns.Msg) bool {
		rr, ok := w.(interface{ RawRequest() []byte })
		if !ok {
			t.Error("the ResponseWriter does not implement RawRequest")
			return false
		}
		h.mu.Lock()
		h.raw = append(h.raw, bytes.Clone(rr.RawRequest()))
		h.types = append(h.types, req.Question[0].Qtype)
		h.mu.Unlock()
		if w.TsigStatus() == nil && req.IsTsig() != nil {
			t.Error("TsigStatus: nil for a signed request the server did not verify")
		}
		qt := req.Question[0].Qtype
		if qt != dns.TypeSOA && qt != dns.TypeAXFR {
			return false
		}
		tsig := req.IsTsig()
		if tsig == nil || dns.TsigVerify(rr.RawRequest(), tsigSecret, "", false) != nil {
			w.WriteMsg(new(dns.Msg).SetRcode(req, dns.RcodeNotAuth))
			return true
		}
		r := new(dns.Msg)
		r.SetReply(req)
		r.Authoritative = true
		r.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "diff.test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
			Ns: "hook.diff.test.", Mbox: "hostmaster.diff.test.", Serial: 7}}
		r.SetTsig(tsigKey, dns.HmacSHA256, 300, time.Now().Unix())
		b, _, err := dns.TsigGenerate(r, tsigSecret, tsig.MAC, false)
		if err != nil {
			t.Error(err)
			return false
		}
		w.Write(b)
		return true
	}
}

func (h *rawHook) take() ([][]byte, []uint16) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, types := h.raw, h.types
	h.raw, h.types = nil, nil
	return raw, types
}

// TestSignedQueriesToHook: a TSIG-signed query reaches the XfrFunc with the exact bytes
// received (UDP and TCP, also for AXFR); the signed reply verifies; a signed query the hook
// declines and unsigned queries are answered by the server, unsigned.
func TestSignedQueriesToHook(t *testing.T) {
	h := &rawHook{}
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, h.fn(t))
	secret := map[string]string{tsigKey: tsigSecret}
	for _, tc := range []struct {
		net  string
		send func(t testing.TB, addr string, q []byte) []byte
		addr string
	}{{"udp", exchangeRaw, ts.udp}, {"tcp", exchangeTCPRaw, ts.tcp}} {
		t.Run(tc.net, func(t *testing.T) {
			// A signed SOA query: to the hook, byte for byte; its reply is signed and verifies.
			b := signedQuery(t, "DiFf.TeSt.", dns.TypeSOA)
			reply := tc.send(t, tc.addr, b)
			if err := dns.TsigVerify(reply, tsigSecret, mustUnpackTsigMAC(t, b), false); err != nil {
				t.Errorf("reply to the signed SOA query: TSIG %v", err)
			}
			if m := mustUnpack(t, reply); len(m.Answer) != 1 || m.Answer[0].(*dns.SOA).Serial != 7 {
				t.Errorf("reply to the signed SOA query is not the hook's: %v", m)
			}
			raw, types := h.take()
			if len(raw) != 1 || !bytes.Equal(raw[0], b) || types[0] != dns.TypeSOA {
				t.Errorf("hook got %d requests (%v), want the exact query", len(raw), types)
			}
			// Through miekg/dns's client, which checks the reply's signature.
			m := new(dns.Msg)
			m.SetQuestion("diff.test.", dns.TypeSOA)
			m.SetTsig(tsigKey, dns.HmacSHA256, 300, time.Now().Unix())
			c := &dns.Client{Net: tc.net, TsigSecret: secret, Timeout: 2 * time.Second}
			r, _, err := c.Exchange(m, tc.addr)
			if err != nil || r.IsTsig() == nil || r.Rcode != dns.RcodeSuccess {
				t.Errorf("miekg client, signed SOA: %v %v", r, err)
			}
			h.take()

			// A signed query the hook declines: the usual answer, unsigned.
			b = signedQuery(t, "www.diff.test.", dns.TypeA)
			r = mustUnpack(t, tc.send(t, tc.addr, b))
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 2 || r.IsTsig() != nil {
				t.Errorf("declined signed A query: %v", r)
			}
			if raw, _ := h.take(); len(raw) != 1 || !bytes.Equal(raw[0], b) {
				t.Errorf("declined signed A query: hook got %d requests, want the exact query", len(raw))
			}

			// Unsigned SOA: the server answers, the hook is not asked.
			r = mustUnpack(t, tc.send(t, tc.addr, q("diff.test.", dns.TypeSOA, 1232, false)))
			if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != 2026112301 || r.IsTsig() != nil {
				t.Errorf("unsigned SOA: %v", r)
			}
			if raw, _ := h.take(); len(raw) != 0 {
				t.Errorf("unsigned SOA query reached the hook")
			}
		})
	}

	// AXFR over TCP: the hook gets the exact bytes too (the message is not re-packed).
	b := signedQuery(t, "diff.TEST.", dns.TypeAXFR)
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if err := dns.TsigVerify(reply, tsigSecret, mustUnpackTsigMAC(t, b), false); err != nil {
		t.Errorf("AXFR reply: TSIG %v", err)
	}
	if raw, _ := h.take(); len(raw) != 1 || !bytes.Equal(raw[0], b) {
		t.Errorf("AXFR: hook got %d requests, want the exact query", len(raw))
	}
}

// TestSignedQueryWithoutHook: without an XfrFunc a signed query is answered as usual.
func TestSignedQueryWithoutHook(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	r := mustUnpack(t, exchangeRaw(t, ts.udp, signedQuery(t, "diff.test.", dns.TypeSOA)))
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 || r.IsTsig() != nil {
		t.Errorf("signed SOA without a hook: %v", r)
	}
}

// TestParseTSIG: only a TSIG record that ends the additional section marks a query signed.
func TestParseTSIG(t *testing.T) {
	var qr query
	if !parseQuery(signedQuery(t, "diff.test.", dns.TypeSOA), &qr) || !qr.tsig || !qr.edns {
		t.Errorf("signed query: tsig %v edns %v", qr.tsig, qr.edns)
	}
	if !parseQuery(q("diff.test.", dns.TypeSOA, 1232, false), &qr) || qr.tsig {
		t.Error("unsigned query parsed as signed")
	}
	// TSIG first, OPT last: FORMERR (RFC 8945 §5.1).
	m := newQuery("diff.test.", dns.TypeSOA, 1232, false)
	opt := m.Extra[0]
	m.SetTsig(tsigKey, dns.HmacSHA256, 300, time.Now().Unix())
	m.Extra = []dns.RR{m.Extra[1], opt}
	m.Extra[0].(*dns.TSIG).MAC = "00"
	m.Extra[0].(*dns.TSIG).MACSize = 1
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !parseQuery(b, &qr) || qr.tsig || qr.rcode != dns.RcodeFormatError {
		t.Errorf("a TSIG record before the OPT: signed %v, rcode %d, want FORMERR", qr.tsig, qr.rcode)
	}
	// TSIG in the answer section: FORMERR too.
	m = newQuery("diff.test.", dns.TypeSOA, 0, false)
	m.Answer = []dns.RR{&dns.TSIG{Hdr: dns.RR_Header{Name: tsigKey, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: dns.HmacSHA256, MAC: "00", MACSize: 1}}
	if b, err = m.Pack(); err != nil {
		t.Fatal(err)
	}
	if !parseQuery(b, &qr) || qr.tsig || qr.rcode != dns.RcodeFormatError {
		t.Errorf("a TSIG record in the answer section: signed %v, rcode %d, want FORMERR", qr.tsig, qr.rcode)
	}
}

func mustUnpackTsigMAC(t testing.TB, b []byte) string {
	t.Helper()
	m := mustUnpack(t, b)
	if m.IsTsig() == nil {
		t.Fatal("not signed")
	}
	return m.IsTsig().MAC
}
