package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/store"
)

const groupsPath = "/accounts/" + account + "/load_balancers/monitor_groups"

type groupJSON struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
	Members     []struct {
		MonitorID      string `json:"monitor_id"`
		Enabled        bool   `json:"enabled"`
		MonitoringOnly bool   `json:"monitoring_only"`
		MustBeHealthy  bool   `json:"must_be_healthy"`
		CreatedAt      string `json:"created_at"`
		UpdatedAt      string `json:"updated_at"`
	} `json:"members"`
}

func decodeGroup(t *testing.T, raw json.RawMessage) groupJSON {
	t.Helper()
	var g groupJSON
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return g
}

// createMonitor makes an API monitor and returns its id.
func (e *env) createMonitor(path string) string {
	e.t.Helper()
	code, env := e.raw("POST", "/accounts/"+account+"/load_balancers/monitors", `{"type":"http","path":"`+path+`","interval":60,"timeout":2,"retries":0}`)
	if code != 200 {
		e.t.Fatalf("create monitor: %d %s", code, env.messages())
	}
	var m struct{ ID string }
	json.Unmarshal(env.Result, &m)
	return m.ID
}

func TestMonitorGroupCRUD(t *testing.T) {
	e := newEnv(t, t.TempDir())
	m1, m2, m3 := e.createMonitor("/a"), e.createMonitor("/b"), e.createMonitor("/c")
	fileMon := model.DeriveID(model.KindMonitor, "file-mon")

	// Empty list is [] with result_info.
	code, env := e.raw("GET", groupsPath, "")
	if code != 200 || string(env.Result) != "[]" || env.ResultInfo == nil {
		t.Fatalf("empty list: %d %s %+v", code, env.Result, env.ResultInfo)
	}

	// Create: members by id (and the file monitor by name); read-only fields ignored.
	body := `{"id":"ignored","created_at":"2020-01-01T00:00:00Z","description":"app checks","members":[
		{"monitor_id":"` + m1 + `","enabled":true,"monitoring_only":false,"must_be_healthy":false,"created_at":"2020-01-01T00:00:00Z"},
		{"monitor_id":"` + m2 + `","enabled":true,"must_be_healthy":true},
		{"monitor_id":"file-mon","monitoring_only":true}]}`
	code, env = e.raw("POST", groupsPath, body)
	if code != 200 {
		t.Fatalf("create: %d %s", code, env.messages())
	}
	g := decodeGroup(t, env.Result)
	if !hex32.MatchString(g.ID) || g.Description != "app checks" || g.CreatedAt == "" || g.UpdatedAt == "" || strings.HasPrefix(g.CreatedAt, "2020") {
		t.Fatalf("created: %+v", g)
	}
	if len(g.Members) != 3 || g.Members[2].MonitorID != fileMon || !g.Members[2].Enabled || !g.Members[2].MonitoringOnly ||
		!g.Members[1].MustBeHealthy || g.Members[0].CreatedAt == "" || strings.HasPrefix(g.Members[0].CreatedAt, "2020") {
		t.Fatalf("members: %+v", g.Members)
	}
	if pub := e.lastPublished(); pub.MonitorGroup(g.ID) == nil {
		t.Fatal("the group was not published")
	}
	// The user path sees the same objects.
	code, env = e.raw("GET", "/user/load_balancers/monitor_groups/"+g.ID, "")
	if code != 200 || decodeGroup(t, env.Result).ID != g.ID {
		t.Fatalf("get via /user: %d %s", code, env.messages())
	}

	// Validation errors name the field.
	for _, c := range []struct{ body, want string }{
		{`{"members":[]}`, "members: a monitor group needs at least one member"},
		{`{"members":[{"monitor_id":"nope"}]}`, `members[0].monitor_id: unknown monitor "nope"`},
		{`{"members":[{"monitor_id":"` + m1 + `"},{"monitor_id":"` + m1 + `"}]}`, "members[1].monitor_id: monitor \"" + m1 + "\" is a member twice"},
		{`{"members":[{"monitor_id":"` + m1 + `","must_be_healty":true}]}`, "must_be_healty: unknown field"},
		{`{"members":[{"monitor_id":"` + m1 + `","enabled":"yes"}]}`, "enabled"},
	} {
		code, env := e.raw("POST", groupsPath, c.body)
		if code != 400 || !strings.Contains(env.messages(), c.want) {
			t.Errorf("POST %s: %d %q, want 400 with %q", c.body, code, env.messages(), c.want)
		}
	}

	// A pool uses the group (by id), and may not have a monitor too.
	code, env = e.raw("POST", "/accounts/"+account+"/load_balancers/pools", `{"name":"grp","monitor_group":"`+g.ID+`","origins":[{"name":"o","address":"127.0.0.5"}]}`)
	if code != 200 {
		t.Fatalf("pool with group: %d %s", code, env.messages())
	}
	var pid struct{ ID string }
	json.Unmarshal(env.Result, &pid)
	if len(env.Messages) != 0 {
		t.Errorf("pool with group has warnings: %+v", env.Messages)
	}
	code, env = e.raw("POST", "/accounts/"+account+"/load_balancers/pools", `{"name":"grp2","monitor_group":"nope","origins":[{"name":"o","address":"127.0.0.5"}]}`)
	if code != 400 || !strings.Contains(env.messages(), `monitor_group: unknown monitor group "nope"`) {
		t.Errorf("unknown group: %d %s", code, env.messages())
	}
	code, env = e.raw("POST", "/accounts/"+account+"/load_balancers/pools", `{"name":"grp3","monitor":"`+m1+`","monitor_group":"`+g.ID+`","origins":[{"name":"o","address":"127.0.0.5"}]}`)
	if code != 400 || !strings.Contains(env.messages(), "monitor_group: a pool has a monitor or a monitor group, not both") {
		t.Errorf("monitor and group: %d %s", code, env.messages())
	}

	// PATCH merges: description kept, members replaced; a kept member keeps created_at.
	code, env = e.raw("PATCH", groupsPath+"/"+g.ID, `{"members":[{"monitor_id":"`+m1+`"},{"monitor_id":"`+m3+`","enabled":false}]}`)
	if code != 200 {
		t.Fatalf("patch: %d %s", code, env.messages())
	}
	g2 := decodeGroup(t, env.Result)
	if g2.Description != "app checks" || len(g2.Members) != 2 || g2.Members[1].Enabled || g2.CreatedAt != g.CreatedAt || g2.UpdatedAt == g.UpdatedAt {
		t.Fatalf("patched: %+v (before %+v)", g2, g)
	}
	if g2.Members[0].CreatedAt != g.Members[0].CreatedAt || g2.Members[0].UpdatedAt != g.Members[0].UpdatedAt || g2.Members[1].CreatedAt == g.Members[0].CreatedAt {
		t.Errorf("member timestamps: %+v then %+v", g.Members, g2.Members)
	}
	// PUT replaces: the omitted description returns to empty.
	code, env = e.raw("PUT", groupsPath+"/"+g.ID, `{"members":[{"monitor_id":"`+m2+`","must_be_healthy":true}]}`)
	if code != 200 {
		t.Fatalf("put: %d %s", code, env.messages())
	}
	if g3 := decodeGroup(t, env.Result); g3.Description != "" || len(g3.Members) != 1 || !g3.Members[0].MustBeHealthy {
		t.Fatalf("put: %+v", g3)
	}
	code, env = e.raw("PUT", groupsPath+"/"+g.ID, `{"members":[]}`)
	if code != 400 || !strings.Contains(env.messages(), "members: a monitor group needs at least one member") {
		t.Errorf("put empty: %d %s", code, env.messages())
	}

	// References.
	code, env = e.raw("GET", groupsPath+"/"+g.ID+"/references", "")
	if code != 200 || !strings.Contains(string(env.Result), `"resource_id":"`+pid.ID+`"`) || !strings.Contains(string(env.Result), `"referral"`) {
		t.Errorf("references: %d %s", code, env.Result)
	}
	code, env = e.raw("GET", "/accounts/"+account+"/load_balancers/monitors/"+m2+"/references", "")
	if code != 200 || !strings.Contains(string(env.Result), `"resource_type":"monitor_group"`) {
		t.Errorf("monitor references: %d %s", code, env.Result)
	}

	// A monitor in a group cannot be deleted; a group a pool uses cannot be deleted.
	code, env = e.raw("DELETE", "/accounts/"+account+"/load_balancers/monitors/"+m2, "")
	if code != 400 || !strings.Contains(env.messages(), "monitor group") || !strings.Contains(env.messages(), g.ID) {
		t.Errorf("delete member monitor: %d %s", code, env.messages())
	}
	code, env = e.raw("DELETE", groupsPath+"/"+g.ID, "")
	if code != 400 || !strings.Contains(env.messages(), `pool "grp" (`+pid.ID+`)`) {
		t.Errorf("delete used group: %d %s", code, env.messages())
	}
	code, _ = e.raw("DELETE", "/accounts/"+account+"/load_balancers/pools/"+pid.ID, "")
	if code != 200 {
		t.Fatalf("delete pool: %d", code)
	}
	code, env = e.raw("DELETE", groupsPath+"/"+g.ID, "")
	if code != 200 || !strings.Contains(string(env.Result), g.ID) {
		t.Fatalf("delete group: %d %s", code, env.messages())
	}
	code, _ = e.raw("GET", groupsPath+"/"+g.ID, "")
	if code != http.StatusNotFound {
		t.Errorf("get deleted: %d", code)
	}
	code, _ = e.raw("DELETE", "/accounts/"+account+"/load_balancers/monitors/"+m2, "")
	if code != 200 {
		t.Errorf("delete monitor after its group: %d", code)
	}
}

func TestMonitorGroupPersistsAndFile(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	m := e.createMonitor("/x")
	code, env := e.raw("POST", groupsPath, `{"description":"kept","members":[{"monitor_id":"`+m+`"}]}`)
	if code != 200 {
		t.Fatalf("create: %d %s", code, env.messages())
	}
	id := decodeGroup(t, env.Result).ID
	e.close()

	// After a restart the group is back.
	e = newEnv(t, dir)
	code, env = e.raw("GET", groupsPath, "")
	if code != 200 || env.ResultInfo == nil || env.ResultInfo.Count != 1 || !strings.Contains(string(env.Result), id) {
		t.Fatalf("after restart: %d %s", code, env.Result)
	}
	e.close()

	// A file-declared group is read-only (409), before validation.
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	file := fileCatalog()
	file.MonitorGroups = []model.MonitorGroup{{Name: "file-group", Members: []model.MonitorGroupMember{{MonitorID: "file-mon"}}}}
	be, err := NewMemoryBackend(MemoryConfig{Store: st, File: file, Zones: testZones, Publish: func(model.Catalog) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if ps := be.Validate(); ps.HasErrors() {
		t.Fatalf("file group: %v", ps)
	}
	h, err := New(Options{AccountID: account, Tokens: []Token{{Name: "admin", Secret: writeToken, Scope: ScopeWrite}}, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	fid := model.DeriveID(model.KindMonitorGroup, "file-group")
	for _, method := range []string{"PUT", "PATCH", "DELETE"} {
		rec := do(h, writeToken, method, groupsPath+"/"+fid, `{"members":[]}`)
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "managed by the config file") {
			t.Errorf("%s file group: %d %s", method, rec.Code, rec.Body)
		}
	}
	rec := do(h, writeToken, "GET", groupsPath+"/"+fid, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), model.DeriveID(model.KindMonitor, "file-mon")) {
		t.Errorf("get file group: %d %s", rec.Code, rec.Body)
	}
}
