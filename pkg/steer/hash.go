package steer

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
)

// Hashing must be the same in every instance and across restarts (clients keep their origin
// when they move between anycast instances), so it uses fixed functions, never a seeded map hash.

// mix is the SplitMix64 finaliser: a bijective 64-bit mixer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is FNV-1a (64 bit), used at compile time for origin and pool identities.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// hashPrefix hashes a client key (a masked prefix).
func hashPrefix(p netip.Prefix) uint64 {
	a := p.Addr().As16()
	h := mix(binary.BigEndian.Uint64(a[:8]) ^ 0x6c62646e73) // "lbdns"
	h = mix(h ^ binary.BigEndian.Uint64(a[8:]))
	return mix(h ^ uint64(p.Bits()+1))
}

// unit maps a hash to (0, 1).
func unit(h uint64) float64 {
	return (float64(h>>11) + 0.5) * 0x1p-53
}

// rendezvousScore is the weighted rendezvous (highest random weight) score of one member for a
// key: -w / ln(u). The member with the highest score wins; removing a member moves only the
// keys it won, and each member wins a share of keys proportional to its weight.
func rendezvousScore(key, member uint64, w float64) float64 {
	return -w / math.Log(unit(mix(key^member)))
}

// draw is a source of uniform numbers for one decision.
type draw struct {
	src interface{ Uint64() uint64 }
}

func (d draw) u64() uint64 {
	if d.src == nil {
		return 0
	}
	return d.src.Uint64()
}

// float is uniform in [0, 1).
func (d draw) float() float64 { return float64(d.u64()>>11) * 0x1p-53 }

// intn is uniform in [0, n); n > 0.
func (d draw) intn(n int) int {
	hi, _ := bits.Mul64(d.u64(), uint64(n))
	return int(hi)
}
