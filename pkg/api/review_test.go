package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Regression tests from the API review: 400 messages name the field by its full path inside
// the object (CONTRACT §4), never a catalog position, and the bulk pool PATCH describes the
// page it patched.

func TestReviewFieldPathsInDecodeErrors(t *testing.T) {
	e := newEnv(t, t.TempDir())
	pools := "/accounts/" + account + "/load_balancers/pools"
	for _, c := range []struct{ body, want string }{
		{`{"name":"p","origins":[{"name":"a","address":"192.0.2.1"},{"name":"b","address":"192.0.2.2","weight":"1"}]}`,
			"origins[1].weight: expected a number, got JSON string"},
		{`{"name":"p","origins":[{"name":"a","address":"192.0.2.1","bogus":1}]}`, "origins[0].bogus: unknown field"},
		{`{"name":"p","origins":[{"name":"a","address":"192.0.2.1"}],"load_shedding":{"default_percent":"x"}}`,
			"load_shedding.default_percent: expected a number"},
		{`{"name":"p","origins":{}}`, "origins: expected a list, got JSON object"},
		{`{"name":"p","bogus":true,"origins":[{"name":"a","address":"192.0.2.1"}]}`, "bogus: unknown field"},
		{`{"name":"p","minimum_origins":"2","origins":[{"name":"a","address":"192.0.2.1"}]}`, "minimum_origins: expected an integer, got JSON string"},
	} {
		code, raw := e.raw(http.MethodPost, pools, c.body)
		if code != http.StatusBadRequest || len(raw.Errors) != 1 || raw.Errors[0].Message != c.want && !strings.HasPrefix(raw.Errors[0].Message, c.want) {
			t.Errorf("POST %s: %d %q, want 400 %q", c.body, code, raw.messages(), c.want)
		}
	}
	code, raw := e.raw(http.MethodPost, pools, `[1]`)
	if code != http.StatusBadRequest || !strings.Contains(raw.messages(), "expected an object, got JSON array") {
		t.Errorf("array body: %d %q", code, raw.messages())
	}

	// A wrong type deep in a load balancer's rules.
	zone := ZoneID("example.com")
	code, raw = e.raw(http.MethodPost, "/zones/"+zone+"/load_balancers",
		`{"name":"r.example.com","default_pools":["file-pool"],"rules":[{"name":"a","condition":"true","overrides":{"region_pools":{"WEU":[1]}}}]}`)
	if code != http.StatusBadRequest || raw.messages() != "rules[0].overrides.region_pools.WEU[0]: expected a string, got JSON number" {
		t.Errorf("rules: %d %q", code, raw.messages())
	}
}

func TestReviewMessagesNameObjectsNotCatalogPositions(t *testing.T) {
	e := newEnv(t, t.TempDir())
	zone := ZoneID("example.com")
	code, raw := e.raw(http.MethodPost, "/zones/"+zone+"/load_balancers", `{"name":"file.example.com","default_pools":["file-pool"]}`)
	msg := raw.messages()
	if code != http.StatusBadRequest || !strings.HasPrefix(msg, "name: duplicate load balancer name") ||
		strings.Contains(msg, "load_balancers[") || !strings.Contains(msg, "load balancer file.example.com (") {
		t.Errorf("duplicate LB name: %d %q, want the other load balancer named, no catalog index", code, msg)
	}

	// An ambiguous name reference is reported once, as ambiguous, not also as unknown.
	pools := "/accounts/" + account + "/load_balancers/pools"
	for i := 0; i < 2; i++ {
		if code, raw := e.raw(http.MethodPost, pools, `{"name":"twin","origins":[{"name":"a","address":"192.0.2.1"}]}`); code != http.StatusOK {
			t.Fatalf("create twin: %d %s", code, raw.messages())
		}
	}
	code, raw = e.raw(http.MethodPost, "/zones/"+zone+"/load_balancers", `{"name":"twin.example.com","default_pools":["twin"]}`)
	if code != http.StatusBadRequest || len(raw.Errors) != 1 || !strings.Contains(raw.messages(), "default_pools[0]: the name \"twin\" is shared by several pools") {
		t.Errorf("ambiguous reference: %d %q", code, raw.messages())
	}
}

func TestReviewBulkPoolPatchResultInfo(t *testing.T) {
	e := newEnv(t, t.TempDir())
	pools := "/accounts/" + account + "/load_balancers/pools"
	for _, n := range []string{"a1", "a2", "a3"} {
		if code, raw := e.raw(http.MethodPost, pools, `{"name":"`+n+`","origins":[{"name":"o","address":"192.0.2.1"}]}`); code != http.StatusOK {
			t.Fatalf("create %s: %d %s", n, code, raw.messages())
		}
	}
	// Ordered by name: a1, a2, a3, file-pool. Page 2 of size 2 is a3 and file-pool; an empty
	// patch changes nothing, so the file pool is no conflict.
	code, raw := e.raw(http.MethodPatch, pools+"?page=2&per_page=2", `{}`)
	if code != http.StatusOK {
		t.Fatalf("bulk patch: %d %s", code, raw.messages())
	}
	var got []struct{ Name string }
	if err := json.Unmarshal(raw.Result, &got); err != nil {
		t.Fatal(err)
	}
	ri := raw.ResultInfo
	if len(got) != 2 || got[0].Name != "a3" || ri == nil || ri.Page != 2 || ri.PerPage != 2 || ri.Count != 2 || ri.TotalCount != 4 || ri.TotalPages != 2 {
		t.Errorf("bulk patch page 2: %+v %+v", got, ri)
	}
}

func TestReviewReferencesPaginate(t *testing.T) {
	e := newEnv(t, t.TempDir())
	zone := ZoneID("example.com")
	pools := "/accounts/" + account + "/load_balancers/pools"
	code, raw := e.raw(http.MethodPost, pools, `{"name":"shared","origins":[{"name":"o","address":"192.0.2.1"}]}`)
	if code != http.StatusOK {
		t.Fatalf("create pool: %d %s", code, raw.messages())
	}
	var p struct{ ID string }
	if err := json.Unmarshal(raw.Result, &p); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"r1", "r2", "r3"} {
		if code, raw := e.raw(http.MethodPost, "/zones/"+zone+"/load_balancers", `{"name":"`+n+`.example.com","default_pools":["`+p.ID+`"]}`); code != http.StatusOK {
			t.Fatalf("create LB %s: %d %s", n, code, raw.messages())
		}
	}
	code, raw = e.raw(http.MethodGet, pools+"/"+p.ID+"/references", "")
	if ri := raw.ResultInfo; code != http.StatusOK || ri == nil || ri.Count != 3 || ri.TotalCount != 3 || ri.Page != 1 {
		t.Fatalf("references: %d %+v", code, raw.ResultInfo)
	}
	code, raw = e.raw(http.MethodGet, "/user/load_balancers/pools/"+p.ID+"/references?page=2&per_page=2", "")
	var refs []Reference
	if err := json.Unmarshal(raw.Result, &refs); err != nil {
		t.Fatal(err)
	}
	if ri := raw.ResultInfo; code != http.StatusOK || len(refs) != 1 || ri == nil || ri.Page != 2 || ri.PerPage != 2 || ri.Count != 1 || ri.TotalCount != 3 || ri.TotalPages != 2 {
		t.Errorf("references page 2: %d %+v %+v", code, refs, raw.ResultInfo)
	}
	if code, raw := e.raw(http.MethodGet, pools+"/"+p.ID+"/references?per_page=x", ""); code != http.StatusBadRequest {
		t.Errorf("per_page=x: %d %s", code, raw.messages())
	}
}
