package main

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/miekg/dns"
)

// TestHostnameLBAnswersMX (rulings 1 and 5): a load balancer whose origins are all hostnames,
// with no mail marks (no smtp monitor, no port 25), answers MX with its hostnames as
// exchangers (addresses of in-zone ones in the additional section) and A with the CNAME of
// ruling 1; a marked one answers MX only, leaving A to the zone.
func TestHostnameLBAnswersMX(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"example.test.zone": coreZone + "mx1 IN A 192.0.2.25\nmx2 IN A 192.0.2.26\nmarked IN A 192.0.2.77\n",
		"lbdns.yaml": coreConfig + `pools:
  - name: mailers
    origins:
      - { name: m1, address: mx1.example.test }
      - { name: m2, address: mx2.example.test }
  - name: mailers25
    origins:
      - { name: m1, address: mx1.example.test, port: 25 }
      - { name: m2, address: mx2.example.test, port: 25 }
load_balancers:
  - name: mail.example.test
    default_pools: [mailers]
  - name: marked.example.test
    default_pools: [mailers25]
`,
	})
	s := startServe(t, filepath.Join(dir, "lbdns.yaml"))
	r := query(t, "udp", s.DNS, "mail.example.test", dns.TypeMX)
	var mx []string
	for _, rr := range r.Answer {
		if m, ok := rr.(*dns.MX); ok && m.Preference == 10 {
			mx = append(mx, m.Mx)
		}
	}
	sort.Strings(mx)
	if r.Rcode != dns.RcodeSuccess || len(mx) != 2 || mx[0] != "mx1.example.test." || mx[1] != "mx2.example.test." {
		t.Errorf("MX at a hostname LB: %v", r)
	}
	if len(r.Extra) < 2 {
		t.Errorf("MX at a hostname LB: no exchanger addresses in the additional section: %v", r.Extra)
	}
	r = query(t, "udp", s.DNS, "mail.example.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || r.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("A at a hostname LB: %v, want the CNAME of ruling 1", r)
	}
	r = query(t, "udp", s.DNS, "marked.example.test", dns.TypeMX)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("MX at a marked mail LB: %v", r)
	}
	r = query(t, "udp", s.DNS, "marked.example.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.77" {
		t.Errorf("A at a marked mail LB: %v, want the zone's A", r)
	}
}
