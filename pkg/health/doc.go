// Package health probes origins with their pool's monitor and turns the results into health:
// per origin (healthy / unhealthy / unknown, with Cloudflare's failure reason strings), per pool
// (Healthy / Degraded / Critical / Health unknown) and per load balancer. It owns the monitor
// types (http, https, tcp, udp_icmp, icmp_ping, smtp), the scheduler, the state machine of
// ruling 14, the immutable View the query path reads, the event log and its webhooks, the
// state file in data_dir, and the health metrics.
//
// The Prober runs the probes; every change of health builds a new View that is published with
// one atomic store and announced to OnChange callbacks. Nothing mutates a published View.
//
// The package imports pkg/model, zerolog, prometheus and golang.org/x/net/icmp only.
package health
