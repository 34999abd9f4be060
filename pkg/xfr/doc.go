// Package xfr owns lbdns's zone transfers: AXFR and IXFR out of the zones lbdns serves (with
// each load balancer's snapshot answer, ruling 38), the serials and the IXFR journal of those
// zones (ruling 39), NOTIFY out to also_notify, and the secondary side — AXFR at start, IXFR
// afterwards with fallback to AXFR, SOA refresh/retry/expire timers (ruling 40), NOTIFY in from
// the primaries, the last good copy kept in data_dir — all with TSIG (hmac-sha256/384/512).
//
// It imports zone, steer and config; the server hands it NOTIFY and AXFR/IXFR messages through
// Handle (server.Options.Xfr), and the control plane feeds it the outgoing data with Publish and
// takes transferred zones from Options.OnSecondary.
//
// Choices where the RFCs leave room:
//
//   - Access (ruling 36): a transfer request must come from an allow_transfer address and, when
//     the zone has a tsig key, be signed with it. An unsigned request, or one from elsewhere, is
//     REFUSED; a request with an unknown key, a bad MAC or a time outside the fudge gets NOTAUTH
//     with the TSIG error BADKEY, BADSIG or BADTIME (RFC 8945 §5.2). A zone that is not
//     configured, or has nothing to transfer yet, is REFUSED or SERVFAIL.
//   - AXFR over UDP is answered NOTIMP (RFC 5936 defines AXFR over TCP only). IXFR over UDP
//     gets the increments when they fit in one message, else the current SOA alone, which tells
//     the client to retry over TCP (RFC 1995 §2).
//   - IXFR from a serial the journal does not hold (unknown, too old, or newer than ours) gets
//     the whole zone in AXFR form, except a serial equal to or newer than the current one,
//     which gets the current SOA alone (up to date).
//   - Every message of an outgoing transfer is signed; an incoming transfer must be signed on
//     every message too (RFC 8945 allows unsigned ones in between; Knot, BIND and NSD sign every
//     message).
//   - A TSIG-signed SOA query gets a signed answer from Handle: BIND signs its SOA refresh
//     queries when its primary has a key, and rejects unsigned answers. The server hands every
//     signed query to Handle (an unsigned one is answered by the server as any query); Handle
//     answers a signed SOA query at a zone's apex, verified like a transfer request (a wrong
//     key gets NOTAUTH/BADKEY, unsigned), and declines other signed queries, which the server
//     then answers unsigned.
//   - TSIG times use the wall clock (time.Now), whatever Options.Now says: peers check them.
//   - NOTIFY in is accepted from the addresses of the zone's primaries only (any port), signed
//     with the zone's key when it has one; others are REFUSED (NOTAUTH for bad signatures). It
//     starts a refresh at once. NOTIFY out goes to also_notify on every change of a file zone's
//     outgoing data, over UDP, retried up to 5 times (1 s, 2 s, 4 s, 8 s, 8 s) until answered.
//   - A secondary zone with a saved copy refreshes at once at start; expire counts from the last
//     contact with a primary (a successful SOA check or transfer), which is saved with the copy,
//     so a restart does not reset it.
//
// Verifying a TSIG signature needs the request exactly as it was received. A ResponseWriter
// that implements RawRequester gives it (pkg/server's does, over UDP and TCP); otherwise Handle
// re-packs the parsed request, which matches the sender's bytes only when both compressed names
// alike.
package xfr
