package model

import "testing"

func TestRetypedMonitorMethod(t *testing.T) {
	for _, c := range []struct{ oldType, oldMethod, newType, want string }{
		{MonitorHTTP, "GET", MonitorTCP, ""},                       // default follows the type
		{MonitorTCP, MethodConnectionEstablished, MonitorHTTP, ""}, // and back
		{MonitorHTTP, "GET", MonitorHTTPS, ""},                     // default either way: GET again
		{MonitorHTTP, "HEAD", MonitorHTTPS, "HEAD"},                // a chosen method that still fits
		{MonitorHTTP, "HEAD", MonitorTCP, ""},                      // one that does not
		{MonitorHTTPS, "POST", MonitorSMTP, ""},                    // smtp takes no method
		{MonitorSMTP, "", MonitorHTTP, ""},
		{MonitorHTTP, "HEAD", "", "HEAD"}, // "" is http
	} {
		if got := RetypedMonitorMethod(c.oldType, c.oldMethod, c.newType); got != c.want {
			t.Errorf("RetypedMonitorMethod(%q, %q, %q) = %q, want %q", c.oldType, c.oldMethod, c.newType, got, c.want)
		}
		m := Monitor{Name: "m", Type: c.newType, Method: RetypedMonitorMethod(c.oldType, c.oldMethod, c.newType)}
		NormalizeMonitor(&m)
		if ps := ValidateMonitor(&m, "m"); ps.HasErrors() {
			t.Errorf("%s %s → %s: normalized monitor invalid: %v", c.oldType, c.oldMethod, c.newType, ps)
		}
	}
	if DefaultMonitorMethod(MonitorTCP) != MethodConnectionEstablished || DefaultMonitorMethod(MonitorHTTPS) != "GET" || DefaultMonitorMethod(MonitorICMPPing) != "" {
		t.Error("DefaultMonitorMethod")
	}
}
