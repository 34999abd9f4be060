package model

import (
	"encoding/json"
	"testing"
)

// FuzzCatalog decodes arbitrary JSON as an API body would be, then normalises, resolves and
// validates it: none of it may panic, and Normalize must be idempotent.
func FuzzCatalog(f *testing.F) {
	f.Add([]byte(`{"monitors":[{"name":"m"}],"pools":[{"name":"p","monitor":"m","origins":[{"name":"a","address":"192.0.2.1","weight":0.5}]}],"load_balancers":[{"name":"_x._tcp.example.com","default_pools":["p"],"rules":[null,{"overrides":{"random_steering":{"pool_weights":{"p":2}}}}]}]}`))
	f.Add([]byte(`{"load_balancers":[{"name":"*.example.com","ttl":0,"country_pools":{"US-CA":["x"]},"random_steering":{}}]}`))
	f.Add([]byte(`{"pools":[{"name":"p","origins":[{"address":"fe80::1%eth0","header":{"Host":[]}}],"load_shedding":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Catalog
		if json.Unmarshal(data, &c) != nil {
			return
		}
		c.Normalize()
		c.Resolve()
		c.Validate([]string{"example.com"})
		c.Validate(nil)
		before, _ := json.Marshal(c)
		c.Normalize()
		if after, _ := json.Marshal(c); string(after) != string(before) {
			t.Fatalf("Normalize is not idempotent:\n%s\n%s", before, after)
		}
	})
}
