package xfr

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/config"
)

// newPrimary returns a Manager serving example.test as primary with the given access rules,
// its data published, and a test server in front of it.
func newPrimary(t *testing.T, dataDir string, allow []string, tsig *config.TSIG, raw bool) (*Manager, *testServer) {
	t.Helper()
	m, err := New(Options{Log: testLog(t), DataDir: dataDir,
		Zones: []config.Zone{{Name: testZoneName, File: "example.test.zone", AllowTransfer: allow, TSIG: tsig}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Publish(testZoneFQDN, mustZone(t, testZoneV1).RRs())
	return m, startServer(t, m.Handle, outSOA(m), raw)
}

// transfer runs an AXFR or IXFR (from serial) over TCP with miekg's client, which checks the
// TSIG of every message when secret is set.
func transfer(t *testing.T, addr netip.AddrPort, qtype uint16, serial uint32, keyName, secret string) ([]dns.RR, int, error) {
	t.Helper()
	m := new(dns.Msg)
	if qtype == dns.TypeIXFR {
		m.SetIxfr(testZoneFQDN, serial, "ns1.example.test.", "hostmaster.example.test.")
	} else {
		m.SetAxfr(testZoneFQDN)
	}
	tr := &dns.Transfer{}
	if secret != "" {
		tr.TsigSecret = map[string]string{dns.Fqdn(keyName): secret}
		m.SetTsig(dns.Fqdn(keyName), dns.HmacSHA256, 300, time.Now().Unix())
	}
	ch, err := tr.In(m, addr.String())
	if err != nil {
		return nil, 0, err
	}
	var rrs []dns.RR
	rcode := 0
	for env := range ch {
		if env.Error != nil {
			err = env.Error
			continue
		}
		rrs = append(rrs, env.RR...)
	}
	if err != nil && strings.Contains(err.Error(), "bad xfr rcode: ") {
		rcode, _ = strconv.Atoi(err.Error()[strings.LastIndex(err.Error(), " ")+1:])
	}
	return rrs, rcode, err
}

// signedTCP sends one request signed with secret over TCP and returns the reply, unverified.
func signedTCP(t *testing.T, addr netip.AddrPort, qtype uint16, keyName, secret string) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(testZoneFQDN, qtype)
	q.SetTsig(dns.Fqdn(keyName), dns.HmacSHA256, 300, time.Now().Unix())
	b, _, err := dns.TsigGenerate(q, secret, "", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	co := &dns.Conn{Conn: c}
	if _, err := co.Write(b); err != nil {
		t.Fatal(err)
	}
	rb := make([]byte, 65535)
	n, err := co.Read(rb)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(rb[:n]); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTransferAccess(t *testing.T) {
	for _, raw := range []bool{true, false} {
		name := "raw"
		if !raw {
			name = "repacked"
		}
		t.Run(name, func(t *testing.T) {
			_, srv := newPrimary(t, "", []string{"127.0.0.1/32"}, testTSIG(), raw)
			rrs, _, err := transfer(t, srv.addr, dns.TypeAXFR, 0, testKeyName, testSecret)
			if err != nil || len(rrs) != 6 {
				t.Fatalf("signed AXFR: %d records, %v", len(rrs), err)
			}
			if _, rc, _ := transfer(t, srv.addr, dns.TypeAXFR, 0, "", ""); rc != dns.RcodeRefused {
				t.Errorf("unsigned AXFR: rcode %s, want REFUSED", dns.RcodeToString[rc])
			}
			if r := signedTCP(t, srv.addr, dns.TypeAXFR, testKeyName, otherSecret); r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != dns.RcodeBadSig {
				t.Errorf("AXFR with the wrong secret: %v, want NOTAUTH/BADSIG", r)
			}
			// An unknown key: NOTAUTH with BADKEY in an unsigned TSIG record.
			q := new(dns.Msg)
			q.SetAxfr(testZoneFQDN)
			q.SetTsig("other-key.", dns.HmacSHA256, 300, time.Now().Unix())
			c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{"other-key.": testSecret}}
			r, _, _ := c.Exchange(q, srv.addr.String())
			if r == nil || r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != dns.RcodeBadKey {
				t.Errorf("AXFR with an unknown key: %v", r)
			}
			// IXFR over UDP, signed: up to date → the SOA alone.
			q = new(dns.Msg)
			q.SetIxfr(testZoneFQDN, 10, "ns1.example.test.", "hostmaster.example.test.")
			q.SetTsig(testKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
			c = &dns.Client{Net: "udp", TsigSecret: map[string]string{testKeyName + ".": testSecret}}
			r, _, err = c.Exchange(q, srv.addr.String())
			if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				t.Errorf("IXFR over UDP: %v %v", r, err)
			}
			// AXFR over UDP: NOTIMP.
			q = new(dns.Msg)
			q.SetAxfr(testZoneFQDN)
			q.SetTsig(testKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
			r, _, err = c.Exchange(q, srv.addr.String())
			if err != nil || r.Rcode != dns.RcodeNotImplemented {
				t.Errorf("AXFR over UDP: %v %v", r, err)
			}
		})
	}
	t.Run("outside allow_transfer", func(t *testing.T) {
		_, srv := newPrimary(t, "", []string{"127.0.0.2/32", "::1"}, testTSIG(), true)
		if _, rc, _ := transfer(t, srv.addr, dns.TypeAXFR, 0, testKeyName, testSecret); rc != dns.RcodeRefused {
			t.Errorf("signed AXFR from 127.0.0.1: rcode %s, want REFUSED", dns.RcodeToString[rc])
		}
	})
	t.Run("no allow_transfer", func(t *testing.T) {
		_, srv := newPrimary(t, "", nil, nil, true)
		if _, rc, _ := transfer(t, srv.addr, dns.TypeAXFR, 0, "", ""); rc != dns.RcodeRefused {
			t.Errorf("AXFR: rcode %s, want REFUSED", dns.RcodeToString[rc])
		}
	})
	t.Run("no tsig", func(t *testing.T) {
		_, srv := newPrimary(t, "", []string{"127.0.0.0/8"}, nil, true)
		if rrs, _, err := transfer(t, srv.addr, dns.TypeAXFR, 0, "", ""); err != nil || len(rrs) != 6 {
			t.Errorf("unsigned AXFR without a key configured: %d records, %v", len(rrs), err)
		}
	})
	t.Run("zone not configured", func(t *testing.T) {
		_, srv := newPrimary(t, "", []string{"127.0.0.0/8"}, nil, true)
		q := new(dns.Msg)
		q.SetAxfr("other.test.")
		r, _, _ := (&dns.Client{Net: "tcp"}).Exchange(q, srv.addr.String())
		if r == nil || r.Rcode != dns.RcodeRefused {
			t.Errorf("AXFR of another zone: %v", r)
		}
	})
}

func TestNotifyAccess(t *testing.T) {
	primary := netip.MustParseAddrPort("127.0.0.2:53") // NOTIFY accepted from 127.0.0.2 only
	m, err := New(Options{Log: testLog(t),
		Zones: []config.Zone{{Name: testZoneName, Primaries: []string{primary.String()}, TSIG: testTSIG()}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, m.Handle, nil, true)
	key := map[string]string{testKeyName + ".": testSecret}
	notify := func(signed bool) *dns.Msg {
		n := new(dns.Msg)
		n.SetNotify(testZoneFQDN)
		if signed {
			n.SetTsig(testKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
		}
		return n
	}
	if r := exchangeFrom(t, "127.0.0.1", srv.addr, notify(true), key); r.Rcode != dns.RcodeRefused {
		t.Errorf("NOTIFY from a non-primary: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if r := exchangeFrom(t, "127.0.0.2", srv.addr, notify(false), nil); r.Rcode != dns.RcodeRefused {
		t.Errorf("unsigned NOTIFY from the primary: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if r := exchangeFrom(t, "127.0.0.2", srv.addr, notify(true), map[string]string{testKeyName + ".": otherSecret}); r.Rcode != dns.RcodeNotAuth {
		t.Errorf("NOTIFY with the wrong secret: %s, want NOTAUTH", dns.RcodeToString[r.Rcode])
	}
	r := exchangeFrom(t, "127.0.0.2", srv.addr, notify(true), key)
	if r.Rcode != dns.RcodeSuccess || r.Opcode != dns.OpcodeNotify || !r.Authoritative {
		t.Errorf("signed NOTIFY from the primary: %v", r)
	}
	select {
	case <-m.zone(testZoneFQDN).kick:
	default:
		t.Error("an accepted NOTIFY did not ask for a refresh")
	}
}

// TestPublishSerials checks ruling 39: the served serial moves forward on every change of the
// outgoing data, IXFR answers from the journal, and a restart keeps the serial.
func TestPublishSerials(t *testing.T) {
	dir := t.TempDir()
	m, srv := newPrimary(t, dir, []string{"127.0.0.0/8"}, nil, true)
	serial := func() uint32 { return outSOA(m)(testZoneFQDN).Serial }
	if serial() != 10 {
		t.Fatalf("first serial %d, want the file's 10", serial())
	}
	z1 := mustZone(t, testZoneV1)
	m.Publish(testZoneFQDN, z1.RRs())
	if serial() != 10 {
		t.Fatalf("same data: serial %d, want 10", serial())
	}
	// An LB snapshot change: www moves, the file serial stays 10.
	v2 := strings.Replace(testZoneV1, "192.0.2.10", "192.0.2.11", 1)
	m.Publish(testZoneFQDN, mustZone(t, v2).RRs())
	if serial() != 11 {
		t.Fatalf("changed data: serial %d, want 11", serial())
	}
	v3 := strings.Replace(v2, "mail IN A   192.0.2.20", "mail IN A   192.0.2.21\nnew IN TXT \"x\"", 1)
	m.Publish(testZoneFQDN, mustZone(t, v3).RRs())
	if serial() != 12 {
		t.Fatalf("changed data: serial %d, want 12", serial())
	}
	// A file edit with a higher serial wins.
	v4 := strings.Replace(v3, " 10 1 1 2 60", " 100 1 1 2 60", 1)
	m.Publish(testZoneFQDN, mustZone(t, v4).RRs())
	if serial() != 100 {
		t.Fatalf("file serial 100: serial %d", serial())
	}

	// IXFR from 10: two... three increments, each SOA(old) dels SOA(new) adds.
	rrs, _, err := transfer(t, srv.addr, dns.TypeIXFR, 10, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.SOA:
			got = append(got, "SOA "+itoa(rr.Serial))
		case *dns.A:
			got = append(got, rr.Hdr.Name+" "+rr.A.String())
		case *dns.TXT:
			got = append(got, rr.Hdr.Name+" TXT")
		}
	}
	want := []string{"SOA 100",
		"SOA 10", "www.example.test. 192.0.2.10", "SOA 11", "www.example.test. 192.0.2.11",
		"SOA 11", "mail.example.test. 192.0.2.20", "SOA 12", "mail.example.test. 192.0.2.21", "new.example.test. TXT",
		"SOA 12", "SOA 100",
		"SOA 100"}
	if !slices.Equal(got, want) {
		t.Errorf("IXFR from 10:\n got %q\nwant %q", got, want)
	}
	// Unknown serial: the whole zone (AXFR form); current serial: the SOA alone.
	if rrs, _, _ := transfer(t, srv.addr, dns.TypeIXFR, 7, "", ""); len(rrs) != 7 {
		t.Errorf("IXFR from an unknown serial: %d records, want the zone (6 + SOA)", len(rrs))
	}
	if rrs, _, _ := transfer(t, srv.addr, dns.TypeIXFR, 100, "", ""); len(rrs) != 1 {
		t.Errorf("IXFR from the current serial: %d records, want 1", len(rrs))
	}

	// A restart with the same data keeps serial 100; a change moves it to 101 even though
	// the file says 100.
	m2, err := New(Options{Log: testLog(t), DataDir: dir,
		Zones: []config.Zone{{Name: testZoneName, File: "example.test.zone", AllowTransfer: []string{"127.0.0.0/8"}}}})
	if err != nil {
		t.Fatal(err)
	}
	m2.Publish(testZoneFQDN, mustZone(t, v4).RRs())
	if s := outSOA(m2)(testZoneFQDN).Serial; s != 100 {
		t.Errorf("after a restart, same data: serial %d, want 100", s)
	}
	m2.Publish(testZoneFQDN, mustZone(t, strings.Replace(v4, "192.0.2.11", "192.0.2.12", 1)).RRs())
	if s := outSOA(m2)(testZoneFQDN).Serial; s != 101 {
		t.Errorf("after a restart, changed data: serial %d, want 101", s)
	}
	m3, _ := New(Options{Log: testLog(t), DataDir: dir,
		Zones: []config.Zone{{Name: testZoneName, File: "example.test.zone", AllowTransfer: []string{"127.0.0.0/8"}}}})
	m3.Publish(testZoneFQDN, mustZone(t, v4).RRs())
	if s := outSOA(m3)(testZoneFQDN).Serial; s != 102 {
		t.Errorf("after a restart, data back to an older state: serial %d, want 102", s)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// TestLargeTransfer: a zone larger than one message goes out in several signed messages
// (each chained on the previous MAC) that miekg's client and a secondary Manager both verify.
func TestLargeTransfer(t *testing.T) {
	var b strings.Builder
	b.WriteString(testZoneV1)
	for i := range 3000 {
		b.WriteString("host" + strconv.Itoa(i) + " IN A 198.51.100." + strconv.Itoa(i%250+1) + "\n")
	}
	m, err := New(Options{Log: testLog(t), Zones: []config.Zone{{Name: testZoneName, File: "x", AllowTransfer: []string{"127.0.0.0/8"}, TSIG: testTSIG()}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Publish(testZoneFQDN, mustZone(t, b.String()).RRs())
	srv := startServer(t, m.Handle, outSOA(m), true)
	rrs, _, err := transfer(t, srv.addr, dns.TypeAXFR, 0, testKeyName, testSecret)
	if err != nil || len(rrs) != 3006 {
		t.Fatalf("AXFR: %d records, %v", len(rrs), err)
	}
	events := make(secondaryEvents, 4)
	sec, err := New(Options{Log: testLog(t), OnSecondary: events.on,
		Zones: []config.Zone{{Name: testZoneName, Primaries: []string{srv.addr.String()}, TSIG: testTSIG()}}})
	if err != nil {
		t.Fatal(err)
	}
	runManager(t, sec)
	z := events.waitSerial(t, 10)
	if a := lookupA(z, "host2999.example.test."); !slices.Equal(a, []string{"198.51.100." + strconv.Itoa(2999%250+1)}) {
		t.Errorf("host2999: %v", a)
	}
}

// TestAlgorithms: transfers signed with each supported algorithm.
func TestAlgorithms(t *testing.T) {
	for _, alg := range []string{dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512} {
		t.Run(alg, func(t *testing.T) {
			tsig := &config.TSIG{Name: testKeyName, Algorithm: strings.TrimSuffix(alg, "."), Secret: testSecret}
			_, srv := newPrimary(t, "", []string{"127.0.0.1"}, tsig, true)
			q := new(dns.Msg)
			q.SetAxfr(testZoneFQDN)
			q.SetTsig(testKeyName+".", alg, 300, time.Now().Unix())
			tr := &dns.Transfer{TsigSecret: map[string]string{testKeyName + ".": testSecret}}
			ch, err := tr.In(q, srv.addr.String())
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for env := range ch {
				if env.Error != nil {
					t.Fatal(env.Error)
				}
				n += len(env.RR)
			}
			if n != 6 {
				t.Errorf("%d records", n)
			}
		})
	}
}
