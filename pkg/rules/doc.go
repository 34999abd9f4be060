// Package rules owns the conditions of load balancer custom rules: the subset of
// Cloudflare's Rules language that applies to DNS-only load balancers (ruling 18). It parses
// and type-checks a condition once ([Compile]) and evaluates it per query without allocating
// ([Expr.Eval]). It imports only the standard library.
//
// # Fields
//
//	cf.load_balancer.name            String   Fields.LBName ("lb.example.com")
//	cf.load_balancer.region          String   Fields.LBRegion ("ENAM")
//	ip.src                           IP       Fields.Src (ECS address if present, else resolver)
//	ip.src.asnum                     Integer  Fields.ASN
//	ip.src.country                   String   Fields.Country ("US")
//	ip.src.continent                 String   Fields.Continent ("NA")
//	ip.src.subdivision_1_iso_code    String   Country "-" Subdivision ("US-CA")
//	dns.qry.name                     String   Fields.QName ("www.example.com.")
//	dns.qry.name.len                 Integer  len(Fields.QName)
//	dns.qry.qu                       Boolean  Fields.QU
//	dns.qry.type                     Integer  Fields.QType (1 = A, 28 = AAAA)
//	dns.rr.opt.client                Boolean  Fields.ECS
//	dns.rr.opt.client.addr           String   Fields.ECSAddr as text ("192.0.2.0")
//
// Cloudflare's Bytes fields are Strings here. Any http.* field is an error: HTTP fields are
// not available to DNS-only load balancers.
//
// # Operators and precedence
//
// Comparisons: eq ==, ne !=, lt <, le <=, gt >, ge >= (Strings compare bytewise, Integers
// numerically; IP addresses take only eq, ne and in), contains and matches ~ (Strings only;
// matches uses Go's RE2 syntax, compiled once; Cloudflare uses Rust's regex crate, whose
// syntax is nearly the same), in {…} (a set of Strings, of Integers and ranges 1..10, or of
// IP addresses, CIDRs and ranges 192.0.2.1..192.0.2.9). Sets separate values by spaces.
// Lists ($name) are not supported, as in Cloudflare's Load Balancing.
//
// Functions: lower(x) and upper(x) map ASCII letters only, len(x) is the length in bytes,
// starts_with(x, "text") and ends_with(x, "text") are Boolean. The source of a function is
// a field (or another function), never a literal.
//
// Logical operators, tightest first, as in Cloudflare's reference: not !, and &&, xor ^^,
// or ||; all left-associative, grouped with parentheses. A comparison binds tighter than
// not, so "not ip.src in {10.0.0.0/8}" negates the whole comparison. A Boolean field alone
// is an expression. English operators are lowercase only. The empty condition is true.
//
// # Literals
//
// Strings are in double quotes with the escapes \" \\ and \xHH, or raw: r"…", r#"…"#. After
// matches a quoted string keeps every escape except \" for the regular expression, as in
// Cloudflare. Integers are decimal. Addresses are written bare: 192.0.2.1, 2001:db8::/32;
// IPv4-mapped IPv6 addresses are compared as IPv4.
//
// # Names
//
// Fields holds names lowercase: dns.qry.name fully qualified with its trailing dot
// ("www.example.com.", Cloudflare's example), cf.load_balancer.name without one
// ("lb.example.com", as the API writes it). Since DNS names are case-insensitive, a literal
// compared with either bare field is lowercased, and one compared whole (eq, ne, in) or as a
// suffix (ends_with) gets the trailing dot added (dns.qry.name) or removed
// (cf.load_balancer.name): dns.qry.name eq "WWW.Example.com" matches "www.example.com.".
// Regular expressions are not changed; starts_with and contains are only lowercased.
// Literals of lower(…)/upper(…) keep their case.
//
// # Missing values
//
// ip.src without an address, and dns.rr.opt.client.addr without ECS, are missing values:
// every comparison on them is false (ne included), as in Cloudflare. Unknown GeoIP data is
// the empty string and ASN 0.
//
// # Evaluation cost
//
// A comparison on a field as given costs around ten nanoseconds. lower/upper, the full subdivision
// code and the ECS address text are built in a pooled scratch buffer; eq, ne and in on
// dns.rr.opt.client.addr compare parsed addresses instead of text.
package rules
