// Package server is the DNS front end of lbdns: UDP and TCP listeners, the wire parser (header,
// question, EDNS with DO and Client Subnet), the reply rules of an authoritative server (AA, RD
// copied, RA never, FORMERR/NOTIMP/REFUSED/BADVERS, TC when a UDP answer does not fit), the
// adapter that lets a zone lookup hand load-balanced names to steer.Decide, and the query-path
// metrics.
//
// The UDP path is a loop per SO_REUSEPORT socket that reads and writes batches of datagrams
// with recvmmsg/sendmmsg and answers without allocating: answers that do not depend on the
// client (static zone data) are packed once per snapshot into a per-goroutine cache and copied
// out with the client's own question bytes (0x20 case preserved) and ID. Answers of load
// balancers and cache misses take the slow path: zone lookup, steer.Decide, and a packer with
// reused buffers (miekg/dns packs the record types it does not know), also without allocating.
// TCP connections use the slow path.
//
// Behaviour where the RFCs allow a choice is Knot DNS 3.2's unless said otherwise; the
// differential test (knot_test.go) checks it against a real knotd:
//
//   - EDNS: we advertise 1232 bytes; a client's UDP size is clamped to [512, 1232] (512 without
//     EDNS). Version > 0 gets BADVERS with our OPT. DO is echoed. A malformed OPT (two OPTs,
//     a cut option, an invalid ECS option) gets FORMERR without OPT.
//   - ECS (RFC 7871): validated (family 1/2, source ≤ 32/128, scope 0, ceil(source/8) address
//     bytes, no bits beyond the source); echoed in every reply with EDNS, with scope 0 for
//     answers that do not depend on the client and the decision's scope (max over the load
//     balancers in the answer) otherwise. IPv4-mapped IPv6 prefixes steer on the IPv4 address.
//   - Truncation over UDP: answer and authority fit whole or the reply is TC=1 with the
//     question and OPT only; additional RRsets are dropped one by one without TC, except that a
//     referral losing in-domain glue sets TC (RFC 9471).
//   - QCLASS IN and * are served; CH and others are REFUSED (no version.bind). QTYPE 0 and
//     opcodes other than QUERY/NOTIFY: NOTIMP. QDCOUNT ≠ 1: FORMERR (RFC 9619; Knot 3.2 drops
//     QDCOUNT > 1). Messages shorter than a header and responses are dropped.
//   - RD and CD are copied (RFC 4035 §3.1.6; Knot clears CD), RA and AD are never set, AA for
//     authoritative data, no AA on REFUSED and referrals. The question is echoed byte for byte.
//   - ANY gets one RRset (pkg/zone, RFC 8482); at a load-balanced name the LB's own type.
//   - TCP (RFC 7766): several queries per connection, answered in order; idle connections
//     close after Options.TCPIdleTimeout.
//   - TSIG (RFC 8945) is not verified by the server: NOTIFY, AXFR/IXFR and queries signed with
//     TSIG (the last additional record; BIND signs its SOA refresh queries) are handed to the
//     XfrFunc with the request bytes exactly as received (RawRequest), and it signs its replies.
//     A signed query the XfrFunc declines (or with no XfrFunc) is answered as if unsigned, with
//     no TSIG record. Unsigned queries keep the fast path.
//
// It imports snapshot, zone and steer; NOTIFY, zone transfers and signed queries are handed to
// an XfrFunc (pkg/xfr).
package server
