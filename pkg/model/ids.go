package model

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// Object kinds, the first argument of DeriveID.
const (
	KindMonitor      = "monitor"
	KindPool         = "pool"
	KindLoadBalancer = "load_balancer"
	KindMonitorGroup = "monitor_group"
)

// DeriveID returns the stable id of a config-file object that omits `id`: the first 32
// lowercase hex characters (16 bytes) of sha256(kind + ":" + name). The same name always gives
// the same id, so references and stored health survive restarts.
func DeriveID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + ":" + name))
	return hex.EncodeToString(sum[:16])
}

// NewID returns a random id (32 lowercase hex characters), the shape of Cloudflare's ids, for
// objects created through the API.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// validID reports whether id is acceptable as an object id: 1–32 characters of letters,
// digits, '-' and '_' (Cloudflare: "max 32 bytes"; ours are 32 hex characters).
func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
