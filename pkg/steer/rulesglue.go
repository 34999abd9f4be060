package steer

import (
	"fmt"
	"net/netip"
	"strings"
)

// The glue between steer and pkg/rules.
// TODO(steer): switch to rules.Compile / rules.Fields / rules.Uses once pkg/rules lands; until
// then only the always-true conditions ("" and "true") compile.

// fields are the values a rule condition reads (ruling 18).
type fields struct {
	LBName, LBRegion                string
	Src                             netip.Addr
	ASN                             uint32
	Country, Continent, Subdivision string
	QName                           string
	QType                           uint16
	QU                              bool
	ECS                             bool
	ECSAddr                         netip.Addr
}

// uses says which kinds of fields a condition reads, so Decide looks up GeoIP only when needed
// and knows whether the answer depends on the client (ECS scope).
type uses uint8

const (
	usesSrc uses = 1 << iota // ip.src, dns.rr.opt.client.addr
	usesGeo                  // ip.src.country/continent/subdivision/asnum
	usesECS                  // dns.rr.opt.client (presence)
)

type condition interface {
	eval(f *fields) bool
	uses() uses
}

type always struct{}

func (always) eval(*fields) bool { return true }
func (always) uses() uses        { return 0 }

func compileCondition(s string) (condition, error) {
	switch strings.TrimSpace(s) {
	case "", "true":
		return always{}, nil
	}
	return nil, fmt.Errorf("rule conditions need pkg/rules, which is not available yet: %q", s)
}
