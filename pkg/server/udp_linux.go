//go:build linux

package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpLoop reads and writes datagrams in batches with recvmmsg/sendmmsg on the socket's file
// descriptor, through the runtime's poller (RawConn.Read/Write wait for readiness). All
// buffers and message headers are allocated once per socket.
type udpLoop struct {
	rc      syscall.RawConn
	in      []unix.Mmsghdr
	inIov   []unix.Iovec
	names   []unix.RawSockaddrInet6
	bufs    [][]byte
	out     []unix.Mmsghdr
	outIov  []unix.Iovec
	outBufs [][]byte
	ctl     [][]byte // received control messages (wildcard sockets only)
	outCtl  [][]byte // control messages of replies: the source address to use
	n       int      // datagrams received by the last recv
	k       int      // datagrams queued for send
	sent    int      // datagrams sent so far by send
	err     error    // errno of the last syscall
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
}

// udpSocketOptions sets what a DNS server's UDP socket wants besides SO_REUSEPORT: path MTU
// discovery off, and no DF bit (IP_PMTUDISC_OMIT, as gdnsd does): replies are sized to
// the client's EDNS buffer, and ICMP "fragmentation needed" from spoofed sources cannot lower
// the MTU the kernel uses for a client (a fragmentation attack vector). It is also cheaper per
// packet. Errors are ignored: the option of the other address family fails on some sockets.
func udpSocketOptions(fd int) {
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_OMIT)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_OMIT)
}

// ctlSize holds one IPv4 or IPv6 packet-info control message.
var ctlSize = unix.CmsgSpace(unix.SizeofInet6Pktinfo)

// newUDPLoop prepares the batches of socket c. A socket bound to a wildcard address asks the
// kernel for each datagram's destination address (IP_PKTINFO/IPV6_RECVPKTINFO) and answers
// from that address, so a multi-homed host replies from the address the client asked.
func newUDPLoop(c *net.UDPConn) (*udpLoop, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	wildcard := false
	if ua, ok := c.LocalAddr().(*net.UDPAddr); ok && ua.IP.IsUnspecified() {
		wildcard = true
		var errs [2]error
		cerr := rc.Control(func(fd uintptr) {
			errs[0] = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
			errs[1] = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		})
		if cerr != nil || (errs[0] != nil && errs[1] != nil) {
			return nil, fmt.Errorf("enable packet info: %v %v %v", cerr, errs[0], errs[1])
		}
	}
	l := &udpLoop{
		rc:      rc,
		in:      make([]unix.Mmsghdr, udpBatch),
		inIov:   make([]unix.Iovec, udpBatch),
		names:   make([]unix.RawSockaddrInet6, udpBatch),
		bufs:    make([][]byte, udpBatch),
		out:     make([]unix.Mmsghdr, udpBatch),
		outIov:  make([]unix.Iovec, udpBatch),
		outBufs: make([][]byte, udpBatch),
	}
	for i := range l.bufs {
		l.bufs[i] = make([]byte, udpInBuf)
		l.outBufs[i] = make([]byte, 0, 2*maxUDPSize)
		l.inIov[i].Base = &l.bufs[i][0]
		l.inIov[i].SetLen(udpInBuf)
		l.in[i].Hdr.Iov = &l.inIov[i]
		l.in[i].Hdr.SetIovlen(1)
		l.in[i].Hdr.Name = (*byte)(unsafe.Pointer(&l.names[i]))
		l.out[i].Hdr.Iov = &l.outIov[i]
		l.out[i].Hdr.SetIovlen(1)
	}
	if wildcard {
		l.ctl = make([][]byte, udpBatch)
		l.outCtl = make([][]byte, udpBatch)
		for i := range l.ctl {
			l.ctl[i] = make([]byte, ctlSize)
			l.outCtl[i] = make([]byte, ctlSize)
		}
	}
	l.readFn = func(fd uintptr) bool {
		for i := range l.in {
			l.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
			l.in[i].Hdr.Flags = 0
			if l.ctl != nil {
				l.in[i].Hdr.Control = &l.ctl[i][0]
				l.in[i].Hdr.SetControllen(ctlSize)
			}
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&l.in[0])), uintptr(len(l.in)), unix.MSG_DONTWAIT, 0, 0)
		for e == unix.EINTR {
			// Retry at once: the poller is edge-triggered, waiting could miss queued datagrams.
			n, _, e = unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&l.in[0])), uintptr(len(l.in)), unix.MSG_DONTWAIT, 0, 0)
		}
		if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
			return false
		}
		l.n, l.err = int(n), nil
		if e != 0 {
			l.n, l.err = 0, e
		}
		return true
	}
	l.writeFn = func(fd uintptr) bool {
		for l.sent < l.k {
			n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&l.out[l.sent])), uintptr(l.k-l.sent), unix.MSG_DONTWAIT, 0, 0)
			switch {
			case e == unix.EAGAIN || e == unix.EWOULDBLOCK:
				return false
			case e == unix.EINTR:
				continue
			case e != 0:
				// The first datagram failed (e.g. unreachable destination): skip it.
				l.sent++
			default:
				l.sent += int(n)
			}
		}
		return true
	}
	return l, nil
}

// recv waits for at least one datagram and returns how many arrived.
func (l *udpLoop) recv() (int, error) {
	if err := l.rc.Read(l.readFn); err != nil {
		return 0, err
	}
	return l.n, l.err
}

// packet returns datagram i and its source address.
func (l *udpLoop) packet(i int) ([]byte, netip.AddrPort) {
	h := &l.in[i]
	b := l.bufs[i][:h.Len]
	sa := &l.names[i]
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		return b, netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return b, netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	}
	return b, netip.AddrPort{}
}

// queue schedules reply b (which must be l.outBufs[k] or grown from it) to the source of
// datagram i.
func (l *udpLoop) queue(i int, b []byte) {
	k := l.k
	l.outBufs[k] = b
	l.outIov[k].Base = &b[0]
	l.outIov[k].SetLen(len(b))
	l.out[k].Hdr.Name = l.in[i].Hdr.Name
	l.out[k].Hdr.Namelen = l.in[i].Hdr.Namelen
	l.out[k].Hdr.Control = nil
	l.out[k].Hdr.SetControllen(0)
	if l.ctl != nil {
		if n := l.replyControl(i, l.outCtl[k]); n > 0 {
			l.out[k].Hdr.Control = &l.outCtl[k][0]
			l.out[k].Hdr.SetControllen(n)
		}
	}
	l.k++
}

// replyControl writes into dst the control message that makes a reply to datagram i leave
// from the address it was sent to, and returns its length (0: none found).
func (l *udpLoop) replyControl(i int, dst []byte) int {
	b := l.ctl[i][:l.in[i].Hdr.Controllen]
	for len(b) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		n := int(h.Len)
		if n < unix.SizeofCmsghdr || n > len(b) {
			return 0
		}
		data := b[unix.CmsgLen(0):n]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			in := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			clear(dst)
			oh := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
			oh.Level, oh.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
			oh.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
			out := (*unix.Inet4Pktinfo)(unsafe.Pointer(&dst[unix.CmsgLen(0)]))
			out.Spec_dst = in.Addr // Ifindex 0: routing picks the interface, the source is fixed
			return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			in := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			clear(dst)
			oh := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
			oh.Level, oh.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
			oh.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
			out := (*unix.Inet6Pktinfo)(unsafe.Pointer(&dst[unix.CmsgLen(0)]))
			*out = *in
			return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
		}
		b = b[min(unix.CmsgSpace(n-unix.CmsgLen(0)), len(b)):]
	}
	return 0
}

// flush sends the queued replies.
func (l *udpLoop) flush() error {
	if l.k == 0 {
		return nil
	}
	l.sent = 0
	err := l.rc.Write(l.writeFn)
	l.k = 0
	return err
}

// serveUDP is the loop of one UDP socket.
func (s *Server) serveUDP(c *net.UDPConn) {
	defer s.wg.Done()
	l, err := newUDPLoop(c)
	if err != nil {
		s.log.Error().Err(err).Msg("dns udp socket")
		return
	}
	w := s.newWorker(true, 0)
	local := c.LocalAddr()
	dur := s.m.duration[0]
	for {
		n, err := l.recv()
		if err != nil {
			if s.closing.Load() || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.ENOBUFS) {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		start := s.now()
		for i := 0; i < n; i++ {
			b, from := l.packet(i)
			out, ok := w.handle(b, client{addr: from.Addr().Unmap(), port: from, local: local}, l.outBufs[l.k][:0])
			if ok && len(out) > 0 {
				l.queue(i, out)
			}
		}
		l.flush()
		w.m.flush()
		if n > 0 {
			// One clock read per batch: each query of the batch is charged the batch's mean.
			per := s.now().Sub(start).Seconds() / float64(n)
			for i := 0; i < n; i++ {
				dur.Observe(per)
			}
		}
	}
}
