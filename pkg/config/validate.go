package config

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/region"
)

var (
	logLevels    = []string{"trace", "debug", "info", "warn", "error"}
	logFormats   = []string{"json", "console"}
	eventSources = []string{"pool", "origin"}
	newHealths   = []string{"Healthy", "Unhealthy"}
)

// validate checks every section, reads the secrets, and resolves, validates the catalog.
func (c *Config) validate() model.Problems {
	var ps model.Problems
	c.validateServer(&ps)
	c.validateAPI(&ps)
	if c.Metrics != nil {
		checkListen(&ps, "metrics.listen", c.Metrics.Listen, true)
	}
	if st, err := os.Stat(c.DataDir); err == nil && !st.IsDir() {
		ps.Errorf("data_dir", "%s is not a directory", c.shown(c.DataDir))
	}
	c.validateGeoIP(&ps)
	c.validateZones(&ps)

	cat := c.Catalog()
	ps.Add(cat.Resolve())
	c.Monitors, c.MonitorGroups, c.Pools, c.LoadBalancers = cat.Monitors, cat.MonitorGroups, cat.Pools, cat.LoadBalancers
	zones := c.ZoneNames()
	ps.Add(cat.Validate(zones))

	c.validateNotifications(&ps, model.NewRefs(cat))
	if !slices.Contains(logLevels, c.Log.Level) {
		ps.Errorf("log.level", "unknown level %q (want one of %s)", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		ps.Errorf("log.format", "unknown format %q (want json or console)", c.Log.Format)
	}
	return ps
}

func (c *Config) validateServer(ps *model.Problems) {
	seen := map[string]int{}
	for i, l := range c.Server.Listen {
		p := model.Index("server.listen", i)
		if checkListen(ps, p, l, true) {
			if j, dup := seen[l]; dup {
				ps.Errorf(p, "%s is listed twice (also [%d])", l, j)
			}
			seen[l] = i
		}
	}
	pop := c.Server.PoP
	if pop.Code != "" && !validCode(pop.Code) {
		ps.Errorf("server.pop.code", "%q is not a PoP code (letters and digits, e.g. LHR)", pop.Code)
	}
	if pop.Region != "" && !region.ValidRegion(pop.Region) {
		ps.Errorf("server.pop.region", "unknown region code %q (want one of %s)", pop.Region, strings.Join(region.Codes(), ", "))
	}
	if pop.Country != "" && !region.ValidCountry(pop.Country) {
		ps.Errorf("server.pop.country", "unknown country code %q (ISO 3166-1 alpha-2)", pop.Country)
	}
	if (pop.Latitude == nil) != (pop.Longitude == nil) {
		ps.Errorf("server.pop", "latitude and longitude go together: set both or neither")
	}
	if pop.Latitude != nil && (*pop.Latitude < -90 || *pop.Latitude > 90) {
		ps.Errorf("server.pop.latitude", "%v is outside -90..90", *pop.Latitude)
	}
	if pop.Longitude != nil && (*pop.Longitude < -180 || *pop.Longitude > 180) {
		ps.Errorf("server.pop.longitude", "%v is outside -180..180", *pop.Longitude)
	}
	if c.Server.UDPSockets < 0 || c.Server.UDPSockets > 1024 {
		ps.Errorf("server.udp_sockets", "%d is outside 0..1024 (0 = one per CPU)", c.Server.UDPSockets)
	}
}

func validCode(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// checkListen accepts host:port with an IP address, "localhost" or an empty host (all
// addresses), and a port 0-65535.
func checkListen(ps *model.Problems, path, addr string, required bool) bool {
	if addr == "" {
		if required {
			ps.Errorf(path, "a listen address (host:port) is required")
		}
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		ps.Errorf(path, "%q is not host:port (%v)", addr, strings.TrimPrefix(err.Error(), "address "+addr+": "))
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.Errorf(path, "%q: port %q is not a number 0-65535", addr, port)
		return false
	}
	if host != "" && host != "localhost" {
		if a, err := netip.ParseAddr(host); err != nil || a.Zone() != "" && !a.Is6() {
			ps.Errorf(path, "%q: %q is not an IP address", addr, host)
			return false
		}
	}
	return true
}

func (c *Config) validateAPI(ps *model.Problems) {
	a := c.API
	if a == nil {
		return
	}
	checkListen(ps, "api.listen", a.Listen, true)
	if len(a.AccountID) != 32 || strings.Trim(strings.ToLower(a.AccountID), "0123456789abcdef") != "" {
		ps.Errorf("api.account_id", "%q is not 32 hexadecimal characters", a.AccountID)
	}
	if len(a.Tokens) == 0 {
		ps.Warnf("api.tokens", "no tokens: every API request will be refused (401)")
	}
	names := map[string]int{}
	secrets := map[string]int{}
	for i := range a.Tokens {
		t := &a.Tokens[i]
		p := model.Index("api.tokens", i)
		if t.Name == "" {
			ps.Errorf(model.Field(p, "name"), "a token needs a name")
		} else if j, dup := names[t.Name]; dup {
			ps.Errorf(model.Field(p, "name"), "duplicate token name %q (also api.tokens[%d])", t.Name, j)
		} else {
			names[t.Name] = i
		}
		if t.Scope != ScopeRead && t.Scope != ScopeWrite {
			ps.Errorf(model.Field(p, "scope"), "unknown scope %q (want read or write)", t.Scope)
		}
		if t.TokenFile == "" {
			ps.Errorf(model.Field(p, "token_file"), "a token needs a token_file")
			continue
		}
		secret, err := readSecret(t.TokenFile, c.shown(t.TokenFile))
		if err != nil {
			ps.Errorf(model.Field(p, "token_file"), "%v", err)
			continue
		}
		t.Secret = secret
		if j, dup := secrets[secret]; dup {
			ps.Errorf(model.Field(p, "token_file"), "holds the same token as api.tokens[%d]", j)
		}
		secrets[secret] = i
	}
}

// readSecret reads a one-line secret (ruling 37): a trailing newline (\n or \r\n) is ignored;
// an empty file or more than one line is an error. The secret never appears in messages.
func readSecret(file, path string) (string, error) {
	if err := regularFile(file, path); err != nil {
		return "", err
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, err)
	}
	if len(b) > maxSecretSize {
		return "", fmt.Errorf("%s is larger than %d bytes: not a secret", path, maxSecretSize)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	switch {
	case s == "":
		return "", fmt.Errorf("%s is empty", path)
	case strings.ContainsAny(s, "\r\n"):
		return "", fmt.Errorf("%s must hold the secret on one line", path)
	case strings.TrimSpace(s) != s:
		return "", fmt.Errorf("%s: the secret starts or ends with white space", path)
	}
	return s, nil
}

// maxSecretSize bounds what is read from a token or key file.
const maxSecretSize = 4096

// regularFile checks that file exists and is a regular file (not a directory, FIFO or
// device, which could block or never end).
func regularFile(file, shown string) error {
	st, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", shown, unwrapPathErr(err))
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", shown)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", shown)
	}
	return nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// checkFile reports a file that cannot be opened for reading or is a directory.
func checkFile(ps *model.Problems, path, file, shown string) {
	if err := regularFile(file, shown); err != nil {
		ps.Errorf(path, "%v", err)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		ps.Errorf(path, "cannot read %s: %v", shown, unwrapPathErr(err))
		return
	}
	f.Close()
}

func (c *Config) validateGeoIP(ps *model.Problems) {
	g := c.GeoIP
	if g == nil {
		return
	}
	if len(g.City) == 0 && g.ASN == "" && len(g.Regions) == 0 {
		ps.Warnf("geoip", "empty section: no GeoIP database is used")
	}
	if len(g.City) == 0 && g.ASN != "" {
		ps.Warnf("geoip.city", "no city database: locations are unknown, only ASNs are looked up")
	}
	for i, f := range g.City {
		if f == "" {
			ps.Errorf(model.Index("geoip.city", i), "empty path")
			continue
		}
		checkFile(ps, model.Index("geoip.city", i), f, c.shown(f))
	}
	if g.ASN != "" {
		checkFile(ps, "geoip.asn", g.ASN, c.shown(g.ASN))
	}
	for _, k := range sortedKeys(g.Regions) {
		p := model.Key("geoip.regions", k)
		if !model.ValidCountryKey(strings.ToUpper(k)) {
			ps.Errorf(p, "%q is neither a country code (MX) nor a US/CA subdivision (US-TX)", k)
		}
		if v := g.Regions[k]; !region.ValidRegion(strings.ToUpper(v)) {
			ps.Errorf(p, "%q is not a region code (want one of %s)", v, strings.Join(region.Codes(), ", "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *Config) validateZones(ps *model.Problems) {
	seen := map[string]int{}
	for i := range c.Zones {
		z := &c.Zones[i]
		p := model.Index("zones", i)
		f := func(n string) string { return model.Field(p, n) }
		switch {
		case z.Name == "":
			ps.Errorf(f("name"), "a zone needs a name")
		case !model.ValidHostname(z.Name):
			ps.Errorf(f("name"), "%q is not a domain name", z.Name)
		default:
			if j, dup := seen[z.Name]; dup {
				ps.Errorf(f("name"), "duplicate zone %q (also zones[%d])", z.Name, j)
			}
			seen[z.Name] = i
		}
		switch {
		case z.File != "" && len(z.Primaries) > 0:
			ps.Errorf(p, "a zone has a file (lbdns is primary) or primaries (lbdns is secondary), not both")
		case z.File == "" && len(z.Primaries) == 0:
			ps.Errorf(p, "a zone needs a file (lbdns is primary) or primaries (lbdns is secondary)")
		case z.File != "":
			checkFile(ps, f("file"), z.File, c.shown(z.File))
		}
		for j, a := range z.Primaries {
			checkHostPort(ps, model.Index(f("primaries"), j), a)
		}
		for j, a := range z.AlsoNotify {
			checkHostPort(ps, model.Index(f("also_notify"), j), a)
		}
		if len(z.AlsoNotify) > 0 && z.File == "" && len(z.Primaries) > 0 {
			ps.Warnf(f("also_notify"), "NOTIFY is sent for zones lbdns serves as primary only")
		}
		for j, a := range z.AllowTransfer {
			if _, err := netip.ParsePrefix(a); err == nil {
				continue
			}
			if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
				continue
			}
			ps.Errorf(model.Index(f("allow_transfer"), j), "%q is neither a CIDR prefix nor an IP address", a)
		}
		if t := z.TSIG; t != nil {
			tp := f("tsig")
			if t.Name == "" || !model.ValidHostname(strings.TrimSuffix(t.Name, ".")) {
				ps.Errorf(model.Field(tp, "name"), "%q is not a key name (a domain name, e.g. xfr-key)", t.Name)
			}
			if !slices.Contains(TSIGAlgorithms, strings.ToLower(t.Algorithm)) {
				ps.Errorf(model.Field(tp, "algorithm"), "unknown algorithm %q (want one of %s)", t.Algorithm, strings.Join(TSIGAlgorithms, ", "))
			} else {
				t.Algorithm = strings.ToLower(t.Algorithm)
			}
			if t.SecretFile == "" {
				ps.Errorf(model.Field(tp, "secret_file"), "a TSIG key needs a secret_file")
			} else if s, err := readSecret(t.SecretFile, c.shown(t.SecretFile)); err != nil {
				ps.Errorf(model.Field(tp, "secret_file"), "%v", err)
			} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				ps.Errorf(model.Field(tp, "secret_file"), "%s does not hold a base64 secret", c.shown(t.SecretFile))
			} else {
				t.Secret = s
			}
		}
	}
}

// withPort adds the default port 53 to addresses given without one (ruling 37).
func withPort(addrs []string) []string {
	for i, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			if ip, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
				addrs[i] = net.JoinHostPort(ip.String(), DefaultTransferPort)
			}
		}
	}
	return addrs
}

func checkHostPort(ps *model.Problems, path, a string) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		ps.Errorf(path, "%q is not ip or ip:port", a)
		return
	}
	if _, err := netip.ParseAddr(host); err != nil {
		ps.Errorf(path, "%q: %q is not an IP address", a, host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		ps.Errorf(path, "%q: port %q is not a number 1-65535", a, port)
	}
}

func (c *Config) validateNotifications(ps *model.Problems, refs *model.Refs) {
	names := map[string]int{}
	for i := range c.Notifications {
		n := &c.Notifications[i]
		p := model.Index("notifications", i)
		f := func(s string) string { return model.Field(p, s) }
		if n.Name == "" {
			ps.Errorf(f("name"), "a notification needs a name")
		} else if j, dup := names[n.Name]; dup {
			ps.Errorf(f("name"), "duplicate notification name %q (also notifications[%d])", n.Name, j)
		} else {
			names[n.Name] = i
		}
		if u, err := url.Parse(n.Webhook); n.Webhook == "" {
			ps.Errorf(f("webhook"), "a notification needs a webhook URL")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.Errorf(f("webhook"), "%q is not an http:// or https:// URL", n.Webhook)
		}
		for j, ref := range n.Pools {
			if id, ok := refs.PoolID(ref); ok {
				n.Pools[j] = id
			} else {
				ps.Errorf(model.Index(f("pools"), j), "unknown pool %q", ref)
			}
		}
		for j, s := range n.EventSource {
			if !slices.Contains(eventSources, s) {
				ps.Errorf(model.Index(f("event_source"), j), "unknown event source %q (want pool or origin)", s)
			}
		}
		for j, s := range n.NewHealth {
			if !slices.Contains(newHealths, s) {
				ps.Errorf(model.Index(f("new_health"), j), "unknown health %q (want Healthy or Unhealthy)", s)
			}
		}
	}
}

// shown returns file as the user wrote it: relative to the config file's directory when it
// lies below it.
func (c *Config) shown(file string) string {
	if c.dir == "" {
		return file
	}
	if rel, err := filepath.Rel(c.dir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return file
}
