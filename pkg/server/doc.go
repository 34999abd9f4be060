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
// balancers, and everything unusual, take the slow path through miekg/dns packing with reused
// messages. Where the RFCs allow a choice, the server behaves as Knot DNS 3.2 does; the
// differential test (knot_test.go) checks it against a real knotd.
//
// It imports snapshot, zone and steer; NOTIFY and zone transfers are handed to an XfrFunc
// (pkg/xfr).
package server
