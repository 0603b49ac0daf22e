package sensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The wire format of the ring buffer: a 112-byte header followed by a
// kind-specific body, little-endian, as laid out by bpf/sensor.bpf.c
// (struct hdr and the *_body structs). Keep both in step.

// Record kinds, as numbered by the C enum.
const (
	rkExec uint16 = iota + 1
	rkFork
	rkExit
	rkConnect
	rkAccept
	rkBind
	rkListen
	rkTCPState
	rkOpen
	rkUnlink
	rkRename
	rkChmod
	rkSetUID
	rkSetGID
	rkCapset
	rkPtrace
	rkMemfd
	rkMount
	rkBPF
	rkModule
	rkLink
	rkTruncate
	rkSetns
	rkMax
)

// recordKinds maps a record kind to the event kind it produces.
var recordKinds = [rkMax]Kind{
	rkExec: KindExec, rkFork: KindFork, rkExit: KindExit,
	rkConnect: KindConnect, rkAccept: KindAccept, rkBind: KindBind, rkListen: KindListen,
	rkTCPState: KindTCPState, rkOpen: KindOpen, rkUnlink: KindUnlink, rkRename: KindRename,
	rkChmod: KindChmod, rkSetUID: KindSetUID, rkSetGID: KindSetGID, rkCapset: KindCapset,
	rkPtrace: KindPtrace, rkMemfd: KindMemfd, rkMount: KindMount, rkBPF: KindBPF,
	rkModule: KindModuleLoad, rkLink: KindLink, rkTruncate: KindTruncate, rkSetns: KindSetns,
}

// Header flags.
const (
	hfTTY        = 1
	hfExeDeleted = 2
	hfExeMemfd   = 4
	hfIOURing    = 8  // submitted through io_uring: no system call, result unknown
	hfOtherMnt   = 16 // an open's file is in another mount namespace than the process
	hfByHandle   = 32 // an open_by_handle_at: no path given
)

// Sizes shared with the C side.
const (
	hdrSize   = 112
	pathSize  = 256
	dnameSize = 32
	argvSize  = 4096
	saddrSize = 112
	attrSize  = 64
)

// minBody is the smallest body each record kind may carry (exec bodies
// are variable: the argument block follows).
var minBody = [rkMax]int{
	rkExec: 8 + dnameSize + 3*pathSize, rkFork: 16, rkExit: 8,
	rkConnect: 160, rkAccept: 160, rkBind: 160, rkListen: 160,
	rkTCPState: 48, rkOpen: 8 + pathSize,
	rkUnlink: 8 + 2*pathSize, rkRename: 8 + 2*pathSize, rkChmod: 8 + 2*pathSize,
	rkSetUID: 24, rkSetGID: 24, rkCapset: 24,
	rkPtrace: 16, rkMemfd: 8 + pathSize, rkMount: 8 + 2*pathSize + dnameSize,
	rkBPF: 8 + attrSize, rkModule: 8 + dnameSize + pathSize, rkLink: 8 + 2*pathSize, rkTruncate: 8 + 2*pathSize, rkSetns: 16,
}

// ErrRecord is wrapped by every decoding error.
var ErrRecord = errors.New("malformed sensor record")

// header is struct hdr.
type header struct {
	kind, size           uint16
	flags                uint32
	ktime, start, cgroup uint64
	capEff, capPrm       uint64
	result               int64
	tid, pid, ppid       uint32
	uid, gid, euid, egid uint32
	mntNS, pidNS         uint32
	comm                 string
}

// record is one decoded ring-buffer record: the header and the fields of
// whichever body its kind carries.
type record struct {
	header

	// exec
	filename, dname string
	exe, cwd        string // resolved by the kernel; "" if it could not
	argv            []string
	stdio           [2]uint8 // fdKinds index of fds 0 and 1; 0 = not known
	// fork
	childPID   uint32
	childStart uint64
	// exit
	exitCode int32
	// connect, accept, bind, listen
	fd                      int32
	family, sockType, proto uint16
	sport, dport            uint16
	saddr, daddr            [16]byte
	uaddr                   []byte
	// tcp_state
	oldState, newState int32
	// open, unlink, rename, chmod
	fileFlags, mode uint32
	path, path2     string
	// setuid, setgid, capset
	credArgs [3]int64
	// ptrace (setns: target is a pidfd's process)
	request int64
	target  uint32
	// setns
	nsInum uint64
	nsType uint32
	// memfd
	name string
	// mount
	mountFlags              uint64
	source, mtarget, fstype string
	// bpf
	cmd  uint32
	attr []byte
	// module
	modArgs string
}

var le = binary.LittleEndian

// cstr returns the NUL-terminated string at the start of b (all of b if
// there is no NUL).
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// decodeRecord decodes one record. The bytes come from the kernel but are
// treated as untrusted: every length is checked against the buffer.
func decodeRecord(b []byte) (*record, error) {
	r := &record{}
	if err := decodeInto(r, b); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeInto is decodeRecord into a record the caller reuses (it is reset
// first); the strings and slices it fills are new and may be kept.
func decodeInto(r *record, b []byte) error {
	*r = record{}
	if len(b) < hdrSize {
		return fmt.Errorf("%w: %d bytes, header needs %d", ErrRecord, len(b), hdrSize)
	}
	h := &r.header
	h.kind = le.Uint16(b[0:])
	h.size = le.Uint16(b[2:])
	h.flags = le.Uint32(b[4:])
	h.ktime = le.Uint64(b[8:])
	h.start = le.Uint64(b[16:])
	h.cgroup = le.Uint64(b[24:])
	h.capEff = le.Uint64(b[32:])
	h.capPrm = le.Uint64(b[40:])
	h.result = int64(le.Uint64(b[48:]))
	h.tid = le.Uint32(b[56:])
	h.pid = le.Uint32(b[60:])
	h.ppid = le.Uint32(b[64:])
	h.uid = le.Uint32(b[68:])
	h.gid = le.Uint32(b[72:])
	h.euid = le.Uint32(b[76:])
	h.egid = le.Uint32(b[80:])
	h.mntNS = le.Uint32(b[84:])
	h.pidNS = le.Uint32(b[88:])
	h.comm = cstr(b[96:112])
	if h.kind == 0 || h.kind >= rkMax {
		return fmt.Errorf("%w: unknown kind %d", ErrRecord, h.kind)
	}
	if int(h.size) > len(b) || int(h.size) < hdrSize {
		return fmt.Errorf("%w: size %d, buffer %d", ErrRecord, h.size, len(b))
	}
	body := b[hdrSize:h.size]
	if len(body) < minBody[h.kind] {
		return fmt.Errorf("%w: %s body of %d bytes, needs %d", ErrRecord, recordKinds[h.kind], len(body), minBody[h.kind])
	}
	switch h.kind {
	case rkExec:
		n := int(le.Uint32(body[0:]))
		argv := body[8+dnameSize+3*pathSize:]
		if n > len(argv) || n > argvSize {
			return fmt.Errorf("%w: argv of %d bytes, %d present", ErrRecord, n, len(argv))
		}
		r.stdio = [2]uint8{body[4], body[5]}
		r.dname = cstr(body[8 : 8+dnameSize])
		r.filename = cstr(body[8+dnameSize : 8+dnameSize+pathSize])
		r.exe = cstr(body[8+dnameSize+pathSize : 8+dnameSize+2*pathSize])
		r.cwd = cstr(body[8+dnameSize+2*pathSize : 8+dnameSize+3*pathSize])
		r.argv = splitArgs(argv[:n])
	case rkFork:
		r.childPID = le.Uint32(body[0:])
		r.childStart = le.Uint64(body[8:])
	case rkExit:
		r.exitCode = int32(le.Uint32(body[0:]))
	case rkConnect, rkAccept, rkBind, rkListen:
		r.fd = int32(le.Uint32(body[0:]))
		r.family = le.Uint16(body[4:])
		r.sockType = le.Uint16(body[6:])
		r.proto = le.Uint16(body[8:])
		r.sport = le.Uint16(body[10:])
		r.dport = le.Uint16(body[12:])
		ulen := int(le.Uint16(body[14:]))
		copy(r.saddr[:], body[16:32])
		copy(r.daddr[:], body[32:48])
		if ulen > saddrSize {
			return fmt.Errorf("%w: sockaddr of %d bytes", ErrRecord, ulen)
		}
		r.uaddr = bytes.Clone(body[48 : 48+ulen])
	case rkTCPState:
		r.family = le.Uint16(body[0:])
		r.sport = le.Uint16(body[2:])
		r.dport = le.Uint16(body[4:])
		r.oldState = int32(le.Uint32(body[8:]))
		r.newState = int32(le.Uint32(body[12:]))
		copy(r.saddr[:], body[16:32])
		copy(r.daddr[:], body[32:48])
	case rkOpen, rkUnlink, rkRename, rkChmod, rkLink, rkTruncate:
		r.fileFlags = le.Uint32(body[0:])
		r.mode = le.Uint32(body[4:])
		r.path = cstr(body[8 : 8+pathSize])
		if h.kind != rkOpen || len(body) >= 8+2*pathSize { // an open resolved from its file: the path as written
			r.path2 = cstr(body[8+pathSize : 8+2*pathSize])
		}
	case rkSetUID, rkSetGID, rkCapset:
		for i := range r.credArgs {
			r.credArgs[i] = int64(le.Uint64(body[8*i:]))
		}
	case rkPtrace:
		r.request = int64(le.Uint64(body[0:]))
		r.target = le.Uint32(body[8:])
	case rkMemfd:
		r.fileFlags = le.Uint32(body[0:])
		r.name = cstr(body[8 : 8+pathSize])
	case rkMount:
		r.mountFlags = le.Uint64(body[0:])
		r.source = cstr(body[8 : 8+pathSize])
		r.mtarget = cstr(body[8+pathSize : 8+2*pathSize])
		r.fstype = cstr(body[8+2*pathSize : 8+2*pathSize+dnameSize])
	case rkBPF:
		r.cmd = le.Uint32(body[0:])
		r.attr = bytes.Clone(body[8 : 8+attrSize])
	case rkSetns:
		r.nsInum = le.Uint64(body[0:])
		r.nsType = le.Uint32(body[8:])
		r.target = le.Uint32(body[12:])
	case rkModule:
		r.fd = int32(le.Uint32(body[0:]))
		r.name = cstr(body[8 : 8+dnameSize])
		r.modArgs = cstr(body[8+dnameSize : 8+dnameSize+pathSize])
	}
	return nil
}

// splitArgs splits a NUL-separated argument block; a trailing NUL ends the
// last argument, a missing one means it was truncated.
func splitArgs(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// encodeRecord lays a record out as the kernel does. The degraded sensor
// uses it to feed process-connector events through the same decoder, and
// tests to build records.
func encodeRecord(r *record) []byte {
	body := make([]byte, minBody[r.kind])
	if r.kind == rkOpen && r.path2 != "" {
		body = make([]byte, 8+2*pathSize)
	}
	putStr := func(off, n int, s string) { copy(body[off:off+n-1], s) }
	switch r.kind {
	case rkExec:
		var argv []byte
		for _, a := range r.argv {
			argv = append(append(argv, a...), 0)
		}
		if len(argv) > argvSize {
			argv = argv[:argvSize]
		}
		le.PutUint32(body[0:], uint32(len(argv)))
		body[4], body[5] = r.stdio[0], r.stdio[1]
		putStr(8, dnameSize, r.dname)
		putStr(8+dnameSize, pathSize, r.filename)
		putStr(8+dnameSize+pathSize, pathSize, r.exe)
		putStr(8+dnameSize+2*pathSize, pathSize, r.cwd)
		body = append(body, argv...)
	case rkFork:
		le.PutUint32(body[0:], r.childPID)
		le.PutUint64(body[8:], r.childStart)
	case rkExit:
		le.PutUint32(body[0:], uint32(r.exitCode))
	case rkConnect, rkAccept, rkBind, rkListen:
		le.PutUint32(body[0:], uint32(r.fd))
		le.PutUint16(body[4:], r.family)
		le.PutUint16(body[6:], r.sockType)
		le.PutUint16(body[8:], r.proto)
		le.PutUint16(body[10:], r.sport)
		le.PutUint16(body[12:], r.dport)
		n := copy(body[48:48+saddrSize], r.uaddr)
		le.PutUint16(body[14:], uint16(n))
		copy(body[16:32], r.saddr[:])
		copy(body[32:48], r.daddr[:])
	case rkTCPState:
		le.PutUint16(body[0:], r.family)
		le.PutUint16(body[2:], r.sport)
		le.PutUint16(body[4:], r.dport)
		le.PutUint32(body[8:], uint32(r.oldState))
		le.PutUint32(body[12:], uint32(r.newState))
		copy(body[16:32], r.saddr[:])
		copy(body[32:48], r.daddr[:])
	case rkOpen, rkUnlink, rkRename, rkChmod, rkLink, rkTruncate:
		le.PutUint32(body[0:], r.fileFlags)
		le.PutUint32(body[4:], r.mode)
		putStr(8, pathSize, r.path)
		if len(body) >= 8+2*pathSize {
			putStr(8+pathSize, pathSize, r.path2)
		}
	case rkSetUID, rkSetGID, rkCapset:
		for i, a := range r.credArgs {
			le.PutUint64(body[8*i:], uint64(a))
		}
	case rkPtrace:
		le.PutUint64(body[0:], uint64(r.request))
		le.PutUint32(body[8:], r.target)
	case rkMemfd:
		le.PutUint32(body[0:], r.fileFlags)
		putStr(8, pathSize, r.name)
	case rkMount:
		le.PutUint64(body[0:], r.mountFlags)
		putStr(8, pathSize, r.source)
		putStr(8+pathSize, pathSize, r.mtarget)
		putStr(8+2*pathSize, dnameSize, r.fstype)
	case rkBPF:
		le.PutUint32(body[0:], r.cmd)
		copy(body[8:8+attrSize], r.attr)
	case rkSetns:
		le.PutUint64(body[0:], r.nsInum)
		le.PutUint32(body[8:], r.nsType)
		le.PutUint32(body[12:], r.target)
	case rkModule:
		le.PutUint32(body[0:], uint32(r.fd))
		putStr(8, dnameSize, r.name)
		putStr(8+dnameSize, pathSize, r.modArgs)
	}
	b := make([]byte, hdrSize, hdrSize+len(body))
	h := &r.header
	le.PutUint16(b[0:], r.kind)
	le.PutUint16(b[2:], uint16(hdrSize+len(body)))
	le.PutUint32(b[4:], h.flags)
	le.PutUint64(b[8:], h.ktime)
	le.PutUint64(b[16:], h.start)
	le.PutUint64(b[24:], h.cgroup)
	le.PutUint64(b[32:], h.capEff)
	le.PutUint64(b[40:], h.capPrm)
	le.PutUint64(b[48:], uint64(h.result))
	for i, v := range []uint32{h.tid, h.pid, h.ppid, h.uid, h.gid, h.euid, h.egid, h.mntNS, h.pidNS} {
		le.PutUint32(b[56+4*i:], v)
	}
	copy(b[96:111], h.comm)
	return append(b, body...)
}

// fdKinds names the kernel's FK_* classes of an exec's fds 0 and 1 (as
// linkKind names /proc/PID/fd links); "" is not known.
var fdKinds = [...]string{"", "socket", "pipe", "tty", "null", "file", "unix"}

func fdKindName(k uint8) string {
	if int(k) < len(fdKinds) {
		return fdKinds[k]
	}
	return ""
}

func fdKindIndex(k string) uint8 {
	for i, n := range fdKinds {
		if i > 0 && n == k {
			return uint8(i)
		}
	}
	return 0
}
