package sensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The degraded sensor: the kernel's process connector (NETLINK_CONNECTOR,
// CN_IDX_PROC) tells of fork, exec and exit; everything else about the
// process is read from /proc, when it is still there. No network, file or
// privilege events.

const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procCnMcastIgnore = 2

	procEventFork = 0x1
	procEventExec = 0x2
	procEventExit = 0x80000000

	nlmsgHdrLen = 16
	cnMsgLen    = 20
)

// procEvent is one decoded process-connector event.
type procEvent struct {
	what      uint32
	pid, tgid uint32 // exec, exit: the process; fork: the child
	ppid      uint32 // fork: the parent's tgid; exit: the parent's tgid
	exitCode  uint32
}

// ErrConnector is wrapped by process-connector decoding errors.
var ErrConnector = errors.New("malformed process connector message")

// decodeConnector decodes the proc events in one netlink datagram
// (untrusted bytes, bounds-checked).
func decodeConnector(b []byte) ([]procEvent, error) {
	var out []procEvent
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return out, fmt.Errorf("%w: %d-byte netlink header", ErrConnector, len(b))
		}
		n := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if n < nlmsgHdrLen || n > len(b) {
			return out, fmt.Errorf("%w: netlink length %d of %d", ErrConnector, n, len(b))
		}
		msg := b[nlmsgHdrLen:n]
		b = b[min(len(b), (n+3)&^3):]
		if typ == unix.NLMSG_NOOP || typ == unix.NLMSG_ERROR || typ == unix.NLMSG_OVERRUN {
			continue
		}
		if len(msg) < cnMsgLen {
			return out, fmt.Errorf("%w: %d-byte connector header", ErrConnector, len(msg))
		}
		idx := binary.NativeEndian.Uint32(msg[0:])
		dlen := int(binary.NativeEndian.Uint16(msg[16:]))
		data := msg[cnMsgLen:]
		if idx != cnIdxProc || dlen > len(data) {
			continue
		}
		data = data[:dlen]
		if len(data) < 16 {
			return out, fmt.Errorf("%w: %d-byte proc event", ErrConnector, len(data))
		}
		ev := procEvent{what: binary.NativeEndian.Uint32(data[0:])}
		d := data[16:]
		u32 := func(i int) uint32 { return binary.NativeEndian.Uint32(d[4*i:]) }
		switch ev.what {
		case procEventFork:
			if len(d) < 16 {
				return out, fmt.Errorf("%w: short fork event", ErrConnector)
			}
			ev.ppid, ev.pid, ev.tgid = u32(1), u32(2), u32(3)
		case procEventExec:
			if len(d) < 8 {
				return out, fmt.Errorf("%w: short exec event", ErrConnector)
			}
			ev.pid, ev.tgid = u32(0), u32(1)
		case procEventExit:
			if len(d) < 24 {
				return out, fmt.Errorf("%w: short exit event", ErrConnector)
			}
			ev.pid, ev.tgid, ev.exitCode, ev.ppid = u32(0), u32(1), u32(2), u32(5)
		default:
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

// connector is the degraded backend.
type connector struct {
	fd      int
	proc    procfs
	closed  atomic.Bool
	buf     []byte
	pending [][]byte
	starts  map[uint32]uint64 // pid → start time, for exits after /proc is gone
}

func openConnector(procRoot string) (*connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("process connector socket: %w", err)
	}
	c := &connector{fd: fd, proc: procfs{root: procRoot}, buf: make([]byte, 1<<16), starts: map[uint32]uint64{}}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind process connector: %w", err)
	}
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process connector timeout: %w", err)
	}
	if err := c.control(procCnMcastListen); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

// control sends a PROC_CN_MCAST_* operation.
func (c *connector) control(op uint32) error {
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(msg[12:], uint32(unix.Getpid()))
	cn := msg[nlmsgHdrLen:]
	binary.NativeEndian.PutUint32(cn[0:], cnIdxProc)
	binary.NativeEndian.PutUint32(cn[4:], cnValProc)
	binary.NativeEndian.PutUint16(cn[16:], 4)
	binary.NativeEndian.PutUint32(cn[cnMsgLen:], op)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("subscribe to process connector: %w", err)
	}
	return nil
}

func (c *connector) read() ([]byte, error) {
	for len(c.pending) == 0 {
		if c.closed.Load() {
			return nil, errClosed
		}
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ENOBUFS) {
				continue // the kernel dropped messages; nothing to count them by
			}
			if c.closed.Load() {
				return nil, errClosed
			}
			return nil, fmt.Errorf("read process connector: %w", err)
		}
		evs, _ := decodeConnector(c.buf[:n])
		for _, ev := range evs {
			if r := c.record(ev); r != nil {
				c.pending = append(c.pending, encodeRecord(r))
			}
		}
	}
	b := c.pending[0]
	c.pending = c.pending[1:]
	return b, nil
}

// record builds the record of a connector event from /proc.
func (c *connector) record(ev procEvent) *record {
	if ev.pid != ev.tgid {
		return nil // a thread
	}
	if len(c.starts) > 1<<16 {
		clear(c.starts)
	}
	r := &record{}
	switch ev.what {
	case procEventFork:
		r.kind = rkFork
		r.childPID = ev.pid
		if st, ok := c.proc.stat(int32(ev.pid)); ok {
			r.childStart = st.start
			c.starts[ev.pid] = st.start
		}
		c.header(r, ev.ppid)
	case procEventExec:
		r.kind = rkExec
		c.header(r, ev.pid)
		c.starts[ev.pid] = r.start
		r.argv = c.proc.cmdline(int32(ev.pid))
		r.stdio = [2]uint8{fdKindIndex(c.proc.fdKind(int32(ev.pid), 0)), fdKindIndex(c.proc.fdKind(int32(ev.pid), 1))}
		if exe, del, memfd, ok := c.proc.exe(int32(ev.pid)); ok {
			r.filename = exe
			if del {
				r.header.flags |= hfExeDeleted
			}
			if memfd {
				r.header.flags |= hfExeMemfd
				r.dname = exe[1:]
			}
		}
	case procEventExit:
		r.kind = rkExit
		r.exitCode = int32(ev.exitCode)
		start, known := c.starts[ev.pid]
		delete(c.starts, ev.pid)
		c.header(r, ev.pid)
		if known {
			r.start = start
		}
		r.ppid = ev.ppid
	default:
		return nil
	}
	return r
}

// header fills a record's header from /proc/PID (only the PID if it is
// gone).
func (c *connector) header(r *record, pid uint32) {
	r.pid, r.tid = pid, pid
	p, ok := c.proc.process(int32(pid))
	if !ok {
		r.start = c.starts[pid]
		return
	}
	r.ppid, r.start, r.comm = uint32(p.PPID), p.StartTime, p.Name
	r.uid, r.gid, r.euid, r.egid = p.UID, p.GID, p.EUID, p.EGID
	r.capEff, r.capPrm = p.CapEffective, p.CapPermitted
	r.mntNS, r.pidNS = p.MntNS, p.PidNS
	if p.TTY {
		r.header.flags |= hfTTY
	}
}

func (c *connector) kernelDrops() [rkMax]uint64 { return [rkMax]uint64{} }

func (c *connector) close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.control(procCnMcastIgnore)
	// read() notices within the receive timeout; closing the socket under
	// a blocked recvfrom is not reliable, so wait for it to return first.
	time.Sleep(250 * time.Millisecond)
	return unix.Close(c.fd)
}
