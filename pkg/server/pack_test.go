package server

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestPackerMatchesMiekg: every answer of the differential set packed by our packer reads back
// exactly as miekg/dns's packing of the same records, and is never larger.
func TestPackerMatchesMiekg(t *testing.T) {
	zones := testZones(t)
	var p packer
	handled := 0
	for _, c := range diffCases() {
		req := new(dns.Msg)
		if err := req.Unpack(c.q); err != nil || len(req.Question) != 1 {
			continue
		}
		qname := strings.ToLower(req.Question[0].Name)
		z := zones.Find(qname)
		if z == nil {
			continue
		}
		res := z.Lookup(qname, req.Question[0].Qtype, nil)
		ours, ok := p.pack(nil, qname, req.Question[0].Qtype, dns.ClassINET, res.Answer, res.Ns, res.Extra)
		if !ok {
			continue
		}
		handled++
		// Fill the header counts the caller would write.
		ours[5] = 1
		ours[7], ours[9], ours[11] = byte(len(res.Answer)), byte(len(res.Ns)), byte(len(res.Extra))
		m := &dns.Msg{Question: []dns.Question{{Name: qname, Qtype: req.Question[0].Qtype, Qclass: dns.ClassINET}},
			Answer: res.Answer, Ns: res.Ns, Extra: res.Extra, Compress: true}
		theirs, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		a, b := mustUnpack(t, ours), mustUnpack(t, theirs)
		if summary(a) != summary(b) {
			t.Errorf("%s: packer\n%s\nmiekg\n%s", c.name, summary(a), summary(b))
		}
		if len(ours) > len(theirs) {
			t.Errorf("%s: %d bytes, miekg %d", c.name, len(ours), len(theirs))
		}
	}
	if handled < 50 {
		t.Errorf("the packer handled only %d answers", handled)
	}
}
