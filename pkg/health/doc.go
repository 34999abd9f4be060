// Package health probes origins with their pool's monitor (or each enabled member of its
// monitor group) and turns the results into health:
// per origin (healthy / unhealthy / unknown, with Cloudflare's failure reason strings), per pool
// (Healthy / Degraded / Critical / Health unknown) and per load balancer. It owns the monitor
// types (http, https, tcp, udp_icmp, icmp_ping, smtp), the scheduler, the state machine of
// ruling 14, the immutable View the query path reads, the event log and its webhooks, the
// state file in data_dir, and the health metrics.
//
// The Prober runs the probes; every change of health builds a new View that is published with
// one atomic store and announced to OnChange callbacks. Nothing mutates a published View.
//
// Choices where the sources are silent:
//
//   - Port: origin port > monitor port > 80 / 443 / 25 by type (tcp and udp_icmp: 80).
//     Host header and TLS SNI: origin header.Host > monitor header.Host > origin address (with
//     ":port" when the port is not the scheme's default).
//   - One target per distinct (monitor id, origin address, port, Host): pools sharing an origin
//     share its probes and results; its User-Agent names the first such pool. The User-Agent is
//     "Mozilla/5.0 (compatible; <Options.UserAgent>; +https://github.com/lbdns/lbdns;
//     pool-id: <first 16 characters of the pool id>)" and monitor headers cannot replace it.
//   - The first result of an unknown origin decides its state (the start-up round of ruling 8
//     is conclusive); consecutive_up / consecutive_down apply between healthy and unhealthy.
//     Reason, Code and RTT are those of the last probe, also while hysteresis holds the state.
//   - Every HTTP(S) try uses a new connection ("Connection: close"): it tests that the origin
//     accepts connections, and it measured cheaper than keeping 5,000 connections alive.
//   - udp_icmp passes when no ICMP port unreachable arrives within the timeout (or the port
//     answers); the echo request before it is sent only when ICMP sockets are permitted.
//   - Webhooks get every transition that matches their filters except a first verdict of
//     Healthy after start (Unknown → Unhealthy is notified). Deliveries are queued per
//     receiver (bounded; a full queue drops and counts) and retried on network errors, 429 and
//     5xx, five attempts with doubling backoff from 1 s.
//   - A View is published promptly after a state change or a catalog update, and at most every
//     5 s for RTT and reason changes alone.
//   - Disabled pools, pools with neither a monitor nor a monitor group, disabled group members
//     and disabled origins are not probed.
//   - Monitor groups: each enabled member probes each enabled origin (targets shared as
//     above, each with its own consecutive_up/down state); the origin's state is GroupHealthy
//     over the members that have a result (none: unknown; no enabled member: healthy), its RTT
//     the mean of the voting members', its reason names the deciding members. Origin events
//     follow the aggregated state; a member's own transitions make none.
//
// The package imports pkg/model, zerolog, prometheus and golang.org/x/net/icmp only.
package health
