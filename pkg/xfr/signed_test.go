package xfr

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/server"
	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/zone"
)

// signedSOA sends a SOA query for name signed with keyName/secret over network and returns
// the reply and the client's error (miekg/dns verifies the reply's signature).
func signedSOA(t *testing.T, network string, addr netip.AddrPort, name, keyName, secret string) (*dns.Msg, error) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeSOA)
	q.SetTsig(dns.Fqdn(keyName), dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: network, Timeout: 3 * time.Second, TsigSecret: map[string]string{dns.Fqdn(keyName): secret}}
	r, _, err := c.Exchange(q, addr.String())
	if r == nil && err != nil {
		t.Fatalf("%s %s: %v", network, name, err)
	}
	return r, err
}

// checkSignedSOA runs the signed-SOA cases against a server at addr that hands signed queries
// to a Manager primary for example.test (key xfr-key) at serial wantSerial.
func checkSignedSOA(t *testing.T, addr netip.AddrPort, wantSerial uint32) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			// The right key: a signed answer that verifies, with the zone's SOA.
			r, err := signedSOA(t, network, addr, "Example.TEST.", testKeyName, testSecret)
			if err != nil {
				t.Fatalf("signed SOA: %v", err)
			}
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || r.IsTsig() == nil || r.IsTsig().Error != 0 {
				t.Errorf("signed SOA: %v", r)
			}
			if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != wantSerial {
				t.Errorf("signed SOA answer: %v, want serial %d", r.Answer, wantSerial)
			}
			// An unknown key: NOTAUTH, TSIG error BADKEY (RFC 8945 §5.2.1), unsigned.
			r, _ = signedSOA(t, network, addr, testZoneFQDN, "other-key", testSecret)
			if r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != dns.RcodeBadKey || r.IsTsig().MACSize != 0 {
				t.Errorf("unknown key: %v", r)
			}
			// The right key name with another secret: NOTAUTH, BADSIG.
			r, _ = signedSOA(t, network, addr, testZoneFQDN, testKeyName, otherSecret)
			if r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != dns.RcodeBadSig {
				t.Errorf("wrong secret: %v", r)
			}
		})
	}
}

// TestSignedSOA: a TSIG-signed SOA query to a zone the Manager serves as primary gets a signed
// reply, with and without the raw request bytes (RawRequester).
func TestSignedSOA(t *testing.T) {
	for _, raw := range []bool{true, false} {
		t.Run(map[bool]string{true: "raw", false: "repacked"}[raw], func(t *testing.T) {
			m, srv := newPrimary(t, "", []string{"127.0.0.0/8"}, testTSIG(), raw)
			m.Publish(testZoneFQDN, mustZone(t, testZoneV1).RRs())
			checkSignedSOA(t, srv.addr, 10)
			// A zone that is not ours: declined (the test server answers REFUSED, unsigned).
			r, _ := signedSOA(t, "udp", srv.addr, "other.test.", testKeyName, testSecret)
			if r.Rcode != dns.RcodeRefused {
				t.Errorf("signed SOA for another zone: %v", r)
			}
		})
	}
}

// lbdnsServer runs pkg/server on 127.0.0.1 serving z, handing NOTIFY, transfers and signed
// queries to handle: the production path. It returns the address (UDP and TCP) and the
// snapshot pointer, to publish changes of z.
func lbdnsServer(t *testing.T, z *zone.Zone, handle server.XfrFunc) (netip.AddrPort, func(*zone.Zone)) {
	t.Helper()
	var p atomic.Pointer[snapshot.Snapshot]
	publish := func(z *zone.Zone) {
		snap, err := snapshot.Build(snapshot.Input{Zones: []*zone.Zone{z}})
		if err != nil {
			t.Fatal(err)
		}
		p.Store(snap)
	}
	publish(z)
	s, err := server.New(server.Options{Listen: []string{"127.0.0.1:0"}, Snapshots: &p, Log: testLog(t), UDPSockets: 1, Xfr: handle})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	udp, _ := s.Addrs()
	return udp[0].(interface{ AddrPort() netip.AddrPort }).AddrPort(), publish
}

// TestSignedSOAThroughServer: the same through pkg/server, which hands signed queries to
// Handle with the request bytes as received; unsigned queries and signed ones Handle declines
// are answered by the server, unsigned.
func TestSignedSOAThroughServer(t *testing.T) {
	m, err := New(Options{Log: testLog(t), Zones: []config.Zone{{Name: testZoneName, File: "x",
		AllowTransfer: []string{"127.0.0.0/8"}, TSIG: testTSIG()}}})
	if err != nil {
		t.Fatal(err)
	}
	z := mustZone(t, testZoneV1)
	m.Publish(testZoneFQDN, z.RRs())
	var rawSeen atomic.Int32
	addr, _ := lbdnsServer(t, z, func(w dns.ResponseWriter, req *dns.Msg) bool {
		if rr, ok := w.(RawRequester); ok && len(rr.RawRequest()) > 0 {
			rawSeen.Add(1)
		}
		return m.Handle(w, req)
	})
	checkSignedSOA(t, addr, 10)
	if rawSeen.Load() == 0 {
		t.Error("pkg/server's ResponseWriter gave no raw request")
	}
	// Unsigned SOA: the server's own answer.
	r, err := dns.Exchange(new(dns.Msg).SetQuestion(testZoneFQDN, dns.TypeSOA), addr.String())
	if err != nil || len(r.Answer) != 1 || r.IsTsig() != nil {
		t.Errorf("unsigned SOA: %v %v", r, err)
	}
	// A signed A query: Handle declines, the server answers (unsigned).
	q := new(dns.Msg).SetQuestion("www.example.test.", dns.TypeA)
	q.SetTsig(testKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{TsigSecret: map[string]string{testKeyName + ".": testSecret}, Timeout: 3 * time.Second}
	r, _, _ = c.Exchange(q, addr.String())
	if r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.IsTsig() != nil {
		t.Errorf("signed A query: %v", r)
	}
	// A signed AXFR through the server verifies on every message.
	tr := &dns.Transfer{TsigSecret: map[string]string{testKeyName + ".": testSecret}}
	ax := new(dns.Msg).SetAxfr(testZoneFQDN)
	ax.SetTsig(testKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
	ch, err := tr.In(ax, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR: %v", env.Error)
		}
		n += len(env.RR)
	}
	if n != 6 {
		t.Errorf("AXFR through the server: %d records, want 6", n)
	}
}

// TestBINDSecondaryThroughServer: BIND is a secondary of lbdns as it runs in production
// (pkg/server in front of the Manager) with a TSIG key: BIND signs its SOA refresh queries
// and the transfers, and lbdns must answer them signed. AXFR, then a change, NOTIFY, IXFR.
func TestBINDSecondaryThroughServer(t *testing.T) {
	prim, bindAddr := bindPrimary(t)
	z1 := mustZone(t, testZoneV1)
	prim.Publish(testZoneFQDN, z1.RRs())
	var signedSOAs atomic.Int32
	addr, publish := lbdnsServer(t, z1, func(w dns.ResponseWriter, req *dns.Msg) bool {
		ok := prim.Handle(w, req)
		if ok && req.Question[0].Qtype == dns.TypeSOA && req.IsTsig() != nil {
			signedSOAs.Add(1)
		}
		return ok
	})
	runManager(t, prim)
	checkBINDSecondary(t, prim, bindAddr, addr.Port(), func(z2 *zone.Zone) {
		publish(z2)
		prim.Publish(testZoneFQDN, z2.RRs())
	})
	if signedSOAs.Load() == 0 {
		t.Error("BIND sent no signed SOA query that lbdns answered (expected one after the NOTIFY)")
	}
}
