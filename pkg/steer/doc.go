// Package steer owns the pure steering decision of lbdns: it compiles the load balancers and
// pools of a model.Catalog into index-addressed tables (Compile) and, per query, chooses the
// pool and the origins to answer with (Decide), optionally recording every step in a Trace for
// `lbdns explain`. Nothing here does I/O, reads a clock or holds global state: health, GeoIP
// and randomness come in through Env, so the server and `explain` run the same function and
// tests drive it with table cases and seeded generators. With a nil Trace, Decide does not
// allocate.
//
// Rulings of ../shared/DECISIONS.md implemented here:
//
//   - 1: hostname origins are answered with one CNAME, used only when no IP origin of the
//     asked family is eligible.
//   - 2, 15: eligible origins; equal weights → all (rotated per query), else one by
//     origin_steering (random by weight, hash = weighted rendezvous hashing of the client key,
//     least_* = random).
//   - 3, 4: family filtering (a pool without eligible origins of the family is skipped), CNAME
//     queries.
//   - 5: MX and SRV load balancers (see Service for how an LB is classified).
//   - 6, 7: fallback pool with health ignored (default: the last of default_pools), NODATA when
//     nothing can answer.
//   - 8: monitored origins whose state is Unknown count as down; unmonitored pools ignore health.
//   - 9: geo areas (pop_pools → country_pools → region_pools → default_pools, first defined key
//     wins), then the fallback.
//   - 10, 11: location per location_strategy (prefer_ecs, mode), ECS response scope.
//   - 12: dynamic_latency by pool RTT; pools without RTT after, in list order.
//   - 16: load shedding (random per query, or hash of the client key).
//   - 17: session_affinity ip_cookie → exactly one origin by rendezvous hashing.
//   - 18, 19: rules in priority order with overrides applied as deltas; ttl override.
//   - 20: TTL, the same for fallback answers.
//   - 23: pool health = healthy enabled origins ≥ minimum_origins.
//   - 24: pool weights of random steering, default_weight 1; unusable pools are left out
//     before normalising.
//
// Choices where the rulings leave room (documented here and in the README):
//
//   - Mail and service load balancers: see Service. An SRV LB is recognised by its name
//     (`_service._proto.`); an MX LB by hostname-only origins marked as mail exchangers (an
//     smtp monitor, or port 25 everywhere). Each owns only its type, so A/AAAA at a mail
//     domain's apex stay zone data.
//   - One CNAME among several eligible hostnames: by the pool's origin policy (hash: rendezvous
//     hashing of the client key; otherwise drawn by weight, uniformly when weights are equal).
//   - SRV answers carry every eligible target (the SRV weight field does the weighting,
//     ruling 5), rotated; ip_cookie still narrows them to one. MX answers follow ruling 2.
//   - A CNAME query gets the CNAME when the chosen pool has no eligible IP origin of either
//     family and an eligible hostname; a pool answering with addresses gives NODATA.
//   - Pools without a monitor are healthy whatever minimum_origins says (health is ignored).
//   - When ECS is preferred but its GeoIP lookup fails, the answer still depends on that
//     subnet: the scope is the ECS source prefix length, not 0.
//   - Rules that read ip.src or dns.rr.opt.client.addr set the scope to the ECS source prefix;
//     rules that read GeoIP fields to the GeoIP network of ip.src.
//   - The fallback pool neither sheds nor is health-checked; a pool listed twice counts once
//     in random steering.
//
// steer imports model, geo, rules and region only.
package steer
