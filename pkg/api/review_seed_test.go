package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Regression tests from the seed-example review: a PATCH that changes only a monitor's type
// gives the type-dependent method of the new type, as a monitor created with that type has.

func TestReviewSeedPatchMonitorTypeMethodFollows(t *testing.T) {
	e := newEnv(t, t.TempDir())
	monitors := "/accounts/" + account + "/load_balancers/monitors"
	create := func(body string) string {
		t.Helper()
		code, raw := e.raw(http.MethodPost, monitors, body)
		if code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", body, code, raw.messages())
		}
		var m struct{ ID string }
		if err := json.Unmarshal(raw.Result, &m); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	patch := func(id, body string) (int, map[string]any, string) {
		t.Helper()
		code, raw := e.raw(http.MethodPatch, monitors+"/"+id, body)
		var m map[string]any
		_ = json.Unmarshal(raw.Result, &m)
		return code, m, raw.messages()
	}
	for _, c := range []struct {
		create, patch      string
		wantType, wantMeth string
	}{
		// The stored default follows the new type.
		{`{"type":"http","path":"/health","expected_codes":"2xx"}`, `{"type":"tcp"}`, "tcp", "connection_established"},
		{`{"type":"https"}`, `{"type":"tcp","port":443}`, "tcp", "connection_established"},
		{`{"type":"tcp","port":22}`, `{"type":"http"}`, "http", "GET"},
		{`{"type":"tcp","port":22}`, `{"type":"https","method":null}`, "https", "GET"},
		{`{"type":"http"}`, `{"type":"smtp"}`, "smtp", ""},
		{`{"type":"icmp_ping"}`, `{"type":"https"}`, "https", "GET"},
		// A method chosen by the user is kept where it still means something...
		{`{"type":"http","method":"HEAD"}`, `{"type":"https"}`, "https", "HEAD"},
		// ...and gives way where it does not.
		{`{"type":"http","method":"HEAD"}`, `{"type":"tcp"}`, "tcp", "connection_established"},
		// An explicit method in the PATCH wins.
		{`{"type":"http"}`, `{"type":"https","method":"HEAD"}`, "https", "HEAD"},
		{`{"type":"tcp"}`, `{"type":"http","method":"POST"}`, "http", "POST"},
		// No type change: the method is untouched.
		{`{"type":"http","method":"HEAD"}`, `{"path":"/x"}`, "http", "HEAD"},
		{`{"type":"http","method":"HEAD"}`, `{"type":"http"}`, "http", "HEAD"},
	} {
		id := create(c.create)
		code, m, msg := patch(id, c.patch)
		if code != http.StatusOK {
			t.Errorf("%s then PATCH %s: %d %s, want 200", c.create, c.patch, code, msg)
			continue
		}
		if m["type"] != c.wantType || m["method"] != c.wantMeth {
			t.Errorf("%s then PATCH %s: type %v method %v, want %s %q", c.create, c.patch, m["type"], m["method"], c.wantType, c.wantMeth)
		}
		// GET agrees with the PATCH reply.
		code, raw := e.raw(http.MethodGet, monitors+"/"+id, "")
		var g map[string]any
		_ = json.Unmarshal(raw.Result, &g)
		if code != http.StatusOK || g["method"] != m["method"] || g["type"] != m["type"] {
			t.Errorf("GET after PATCH %s: %d %v/%v", c.patch, code, g["type"], g["method"])
		}
	}

	// An explicit method that does not fit the new type is still a 400 naming the field.
	id := create(`{"type":"http"}`)
	if code, _, msg := patch(id, `{"type":"tcp","method":"GET"}`); code != http.StatusBadRequest || msg == "" || msg[:7] != "method:" {
		t.Errorf(`PATCH {"type":"tcp","method":"GET"}: %d %q, want 400 on method`, code, msg)
	}
	// PUT is unaffected: omitted fields take the new type's defaults.
	if code, raw := e.raw(http.MethodPut, monitors+"/"+id, `{"type":"tcp"}`); code != http.StatusOK {
		t.Errorf("PUT tcp: %d %s", code, raw.messages())
	}
}

// session_affinity_attributes.require_all_headers is a *bool in cloudflare-go's LoadBalancer:
// an explicit false comes back as false, not absent.
func TestReviewSeedRequireAllHeadersFalseRoundTrips(t *testing.T) {
	e := newEnv(t, t.TempDir())
	lbs := "/zones/" + ZoneID("example.com") + "/load_balancers"
	for _, want := range []string{"false", "true"} {
		code, raw := e.raw(http.MethodPost, lbs, `{"name":"h`+want+`.example.com","default_pools":["file-pool"],"session_affinity":"header",`+
			`"session_affinity_ttl":1800,"session_affinity_attributes":{"headers":["x-session"],"require_all_headers":`+want+`}}`)
		if code != http.StatusOK {
			t.Fatalf("POST: %d %s", code, raw.messages())
		}
		var lb struct {
			ID    string
			Attrs map[string]json.RawMessage `json:"session_affinity_attributes"`
		}
		if err := json.Unmarshal(raw.Result, &lb); err != nil {
			t.Fatal(err)
		}
		code, raw = e.raw(http.MethodGet, lbs+"/"+lb.ID, "")
		lb.Attrs = nil
		if err := json.Unmarshal(raw.Result, &lb); code != http.StatusOK || err != nil {
			t.Fatalf("GET: %d %v", code, err)
		}
		if got := string(lb.Attrs["require_all_headers"]); got != want {
			t.Errorf("require_all_headers sent %s, GET gives %q", want, got)
		}
	}
	// Absent stays absent.
	code, raw := e.raw(http.MethodPost, lbs, `{"name":"hn.example.com","default_pools":["file-pool"],"session_affinity_attributes":{"samesite":"Auto"}}`)
	if code != http.StatusOK || strings.Contains(string(raw.Result), "require_all_headers") {
		t.Errorf("absent require_all_headers: %d %s", code, raw.Result)
	}
}
