//go:build !linux

package server

import (
	"errors"
	"net"
	"os"
)

// udpSocketOptions: path MTU settings are Linux-only here.
func udpSocketOptions(int) {}

// serveUDP is the loop of one UDP socket: one read and one write per datagram.
func (s *Server) serveUDP(c *net.UDPConn) {
	defer s.wg.Done()
	w := s.newWorker(true, 0)
	local := c.LocalAddr()
	in := make([]byte, udpInBuf)
	out := make([]byte, 0, 2*maxUDPSize)
	for {
		n, from, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			if s.closing.Load() || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		start := s.now()
		reply, ok := w.handle(in[:n], client{addr: from.Addr().Unmap(), port: from, local: local}, out[:0])
		if ok && len(reply) > 0 {
			c.WriteToUDPAddrPort(reply, from)
		}
		w.m.flush()
		s.m.duration[0].Observe(s.now().Sub(start).Seconds())
	}
}
