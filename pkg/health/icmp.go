package health

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP socket kinds, decided once on the first ICMP probe (ruling 25).
const (
	icmpUnknown = iota
	icmpUnprivileged
	icmpRaw
	icmpNone
)

const pingGroupRange = "/proc/sys/net/ipv4/ping_group_range"

// icmpListen opens an ICMP socket; a variable so a test can deny both kinds.
type icmpPacketConn = icmp.PacketConn

var icmpListen = icmp.ListenPacket

// icmpMode says which socket kind ping uses: unprivileged ping sockets (udp4/udp6) where
// net.ipv4.ping_group_range admits our group, raw sockets (root or CAP_NET_RAW) otherwise. When
// neither is permitted it logs once, clearly, and icmp probes fail with ReasonICMPNotPermitted.
func (p *Prober) icmpMode() int {
	p.icmpOnce.Do(func() {
		if c, err := icmpListen("udp4", "0.0.0.0"); err == nil {
			c.Close()
			p.icmp = icmpUnprivileged
			p.log.Info().Str("socket", "udp4 ping socket").Msg("icmp probes use unprivileged ping sockets")
			return
		}
		if c, err := icmpListen("ip4:icmp", "0.0.0.0"); err == nil {
			c.Close()
			p.icmp = icmpRaw
			p.log.Info().Str("socket", "raw").Msg("icmp probes use raw sockets")
			return
		}
		p.icmp = icmpNone
		rng, _ := os.ReadFile(pingGroupRange)
		p.log.Error().Str("ping_group_range", strings.TrimSpace(string(rng))).Int("gid", os.Getgid()).
			Msg("icmp probes cannot run: unprivileged ping sockets are not allowed for this group (sysctl net.ipv4.ping_group_range) and raw sockets need root or CAP_NET_RAW; icmp_ping monitors report \"" + ReasonICMPNotPermitted + "\" and udp_icmp monitors skip the echo")
	})
	return p.icmp
}

var pingSeq atomic.Uint32

// ping sends one echo request to ip and waits for the reply until ctx ends.
func (p *Prober) ping(ctx context.Context, ip netip.Addr) Result {
	mode := p.icmpMode()
	if mode == icmpNone {
		return Result{Reason: ReasonICMPNotPermitted}
	}
	v6 := ip.Is6() && !ip.Is4In6()
	network, laddr, proto := "udp4", "0.0.0.0", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if v6 {
		network, laddr, proto = "udp6", "::", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	if mode == icmpRaw {
		network = map[bool]string{false: "ip4:icmp", true: "ip6:ipv6-icmp"}[v6]
	}
	c, err := icmpListen(network, laddr)
	if err != nil {
		return Result{Reason: ReasonICMPNotPermitted}
	}
	defer c.Close()
	defer bindDeadline(ctx, c)()
	seq := int(pingSeq.Add(1) & 0xffff)
	id := int(p.pingID)
	msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("lbdns health probe")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return Result{Reason: ReasonOther}
	}
	var dst net.Addr = &net.IPAddr{IP: ip.AsSlice()}
	if mode == icmpUnprivileged {
		dst = &net.UDPAddr{IP: ip.AsSlice()}
	}
	if _, err := c.WriteTo(b, dst); err != nil {
		return Result{Reason: dialReason(err)}
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || isTimeout(err) {
				return Result{Reason: ReasonICMPTimeout}
			}
			return Result{Reason: dialReason(err)}
		}
		rm, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || rm.Type != replyType {
			continue
		}
		echo, ok := rm.Body.(*icmp.Echo)
		if !ok || echo.Seq != seq {
			continue
		}
		// A ping socket's kernel rewrites the id and delivers only its own replies; a raw
		// socket sees every reply, so it must match id and sender.
		if mode == icmpRaw && (echo.ID != id || !sameIP(from, ip)) {
			continue
		}
		return Result{Healthy: true}
	}
}

func sameIP(a net.Addr, ip netip.Addr) bool {
	var got net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		got = a.IP
	case *net.UDPAddr:
		got = a.IP
	default:
		return false
	}
	g, ok := netip.AddrFromSlice(got)
	return ok && g.Unmap() == ip.Unmap()
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
