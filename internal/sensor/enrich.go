package sensor

import (
	"bytes"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// enricher turns records into Events: it keeps the process cache, adds
// what /proc knows, the ancestry and the container. Only the sensor's
// event loop uses it.
type enricher struct {
	opts       Options
	proc       procfs
	cache      *procCache
	containers *containerCache
	paths      pathRules            // WatchedPaths, ReadPaths, ExecPaths
	boot       time.Time            // wall-clock time of boot-relative 0
	cgroups    map[cgroupKey]string // → container ID ("" for the host)
	// hostMntNS is the sensor's own mount namespace: only there is "not
	// in a container" cached (see containerOf).
	hostMntNS uint32
	// hostNS are the sensor's own namespaces and PID 1's, inode → type
	// (mnt, pid, net …): a setns into one of them from a container joins
	// the host's.
	hostNS map[uint64]string
	// known, when set, is told each (cgroup, mount namespace) whose
	// container is cached, forget when the cache is emptied: the eBPF
	// programs wake the reader at once only for execs elsewhere.
	known  func(cgroupKey)
	forget func()
	// deliver has bit rk set when records of kind rk become events
	// (Sensor.Deliver); the others only update the caches.
	deliver atomic.Uint64
}

func newEnricher(o Options, boot time.Time) *enricher {
	en := &enricher{
		opts:       o,
		proc:       procfs{root: o.ProcRoot},
		cache:      newProcCache(o.ProcCacheSize, o.ExitGrace),
		containers: newContainerCache(o.Resolver),
		paths:      newPathRules(o),
		boot:       boot,
		cgroups:    map[cgroupKey]string{},
		hostMntNS:  procfs{root: o.ProcRoot}.nsInum(int32(os.Getpid()), "mnt"),
		hostNS:     map[uint64]string{},
	}
	// The sensor's own namespaces and PID 1's: an agent run in a
	// container (hostPID, its own mount namespace) sees the host's
	// through PID 1 where /proc lets it.
	for _, pid := range []int32{int32(os.Getpid()), 1} {
		for _, ns := range nsTypes {
			if n := (procfs{root: o.ProcRoot}).nsInum(pid, ns.name); n != 0 {
				en.hostNS[uint64(n)] = ns.name
			}
		}
	}
	en.deliver.Store(allKinds)
	return en
}

// allKinds is the deliver mask of every record kind.
const allKinds = 1<<rkMax - 1

// scan walks /proc once and caches every process that exists.
func (en *enricher) scan() error {
	pids, err := en.proc.pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		en.loadPID(pid)
	}
	return nil
}

// loadPID reads a process from /proc into the cache.
func (en *enricher) loadPID(pid int32) *procEntry {
	p, ok := en.proc.process(pid)
	if !ok {
		return nil
	}
	e := &procEntry{key: procKey{pid, p.StartTime}, p: p}
	e.container, _ = en.proc.containerID(pid)
	en.cache.put(e)
	return e
}

// fromHeader is the process as the record's header describes it.
func fromHeader(h *header) Process {
	return Process{
		PID: int32(h.pid), PPID: int32(h.ppid), StartTime: h.start - h.start%tickNS,
		Name: h.comm, UID: h.uid, GID: h.gid, EUID: h.euid, EGID: h.egid,
		CapEffective: h.capEff, CapPermitted: h.capPrm, TTY: h.flags&hfTTY != 0,
		CgroupID: h.cgroup, MntNS: h.mntNS, PidNS: h.pidNS,
	}
}

// refresh copies the header's fields, which are current, over a cached
// process; it reports whether any changed.
func refresh(p *Process, h Process) bool {
	changed := p.PPID != h.PPID || p.Name != h.Name || p.TTY != h.TTY ||
		p.UID != h.UID || p.GID != h.GID || p.EUID != h.EUID || p.EGID != h.EGID ||
		p.CapEffective != h.CapEffective || p.CapPermitted != h.CapPermitted ||
		p.CgroupID != h.CgroupID || p.MntNS != h.MntNS || p.PidNS != h.PidNS
	p.PPID, p.Name, p.TTY = h.PPID, h.Name, h.TTY
	p.UID, p.GID, p.EUID, p.EGID = h.UID, h.GID, h.EUID, h.EGID
	p.CapEffective, p.CapPermitted = h.CapEffective, h.CapPermitted
	p.CgroupID, p.MntNS, p.PidNS = h.CgroupID, h.MntNS, h.PidNS
	return changed
}

// refreshEntry refreshes a cached entry, counting the change.
func refreshEntry(e *procEntry, h Process) {
	if refresh(&e.p, h) {
		e.ver++
	}
}

// lookup finds the actor of a record in the cache, reading /proc when it
// is missing (and still alive), else building it from the header alone.
func (en *enricher) lookup(h Process) *procEntry {
	k := procKey{h.PID, h.StartTime}
	if e := en.cache.get(k); e != nil {
		return e
	}
	e := &procEntry{key: k, p: h}
	if p, ok := en.proc.process(h.PID); ok && p.StartTime == h.StartTime {
		e.p = p
		e.container, _ = en.proc.containerID(h.PID)
	} else if parent := en.cache.pid(h.PPID); parent != nil {
		e.p.Exe, e.p.Args, e.p.Cwd = parent.p.Exe, parent.p.Args, parent.p.Cwd
		e.container = parent.container
	}
	refresh(&e.p, h)
	en.cache.put(e)
	return e
}

// event builds the Event of a record; ok is false when the record is
// filtered out here (a path only the user-space half of a pattern
// rejects, a kind not enabled).
func (en *enricher) event(r *record) (ev Event, ok bool) {
	kind := recordKinds[r.kind]
	now := time.Now()
	en.cache.expire(now)
	ev = Event{Kind: kind, Time: en.boot.Add(time.Duration(r.ktime)), Result: r.result}
	if r.ktime == 0 {
		ev.Time = now
	}
	h := fromHeader(&r.header)

	var e *procEntry
	switch r.kind {
	case rkExec:
		e = en.exec(r, h)
	case rkFork:
		parent := en.lookup(h)
		refreshEntry(parent, h)
		child := &procEntry{key: procKey{int32(r.childPID), r.childStart - r.childStart%tickNS}, p: parent.p, container: parent.container}
		child.p.PID, child.p.PPID, child.p.StartTime = child.key.pid, h.PID, child.key.start
		en.cache.put(child)
		e = child
	case rkExit:
		e = en.lookup(h)
		refreshEntry(e, h)
		en.cache.exit(e.key, now)
	default:
		e = en.lookup(h)
	}
	if !en.opts.enabled(kind) || en.deliver.Load()&(1<<r.kind) == 0 {
		return ev, false
	}
	if r.kind == rkExit {
		ev.Args = map[string]any{"exitCode": int64(r.exitCode>>8) & 0xff, "signal": int64(r.exitCode & 0x7f)}
	}
	ev.Process = e.p
	if r.kind == rkSetUID || r.kind == rkSetGID || r.kind == rkCapset {
		// Process keeps the credentials from before the call; Cred has the
		// new ones, which the cache takes from now on.
		ev.Cred = &Cred{UID: h.UID, EUID: h.EUID, GID: h.GID, EGID: h.EGID, CapEffective: h.CapEffective, CapPermitted: h.CapPermitted}
	} else {
		refresh(&ev.Process, h)
		if r.kind == rkFork {
			ev.Process.PID, ev.Process.PPID, ev.Process.StartTime = e.key.pid, h.PID, e.key.start
		}
	}
	if r.header.flags&hfExeDeleted != 0 && !e.p.ExeMemfd && r.kind != rkFork {
		// The kernel says the executable has been unlinked since.
		if !e.p.ExeDeleted {
			e.ver++
		}
		e.p.ExeDeleted, ev.Process.ExeDeleted = true, true
	}
	refreshEntry(e, h)
	if r.kind == rkFork && (e.p.PID != e.key.pid || e.p.PPID != h.PID || e.p.StartTime != e.key.start) {
		e.p.PID, e.p.PPID, e.p.StartTime = e.key.pid, h.PID, e.key.start
		e.ver++
	}
	ev.Parents = en.cache.ancestry(&ev.Process, en.loadPID)
	ev.Container = en.containers.get(e.container)
	if !en.details(r, &ev) {
		return ev, false
	}
	if r.header.flags&hfIOURing != 0 {
		ev.setArg("via", "io_uring")
	}
	return ev, true
}

// exec replaces the process's cache entry with the new program. The
// record has argv, what fds 0 and 1 are, and the executable's and cwd's
// paths; /proc is read only for paths the kernel could not resolve and
// for the container ID when its cgroup is not cached yet.
func (en *enricher) exec(r *record, h Process) *procEntry {
	k := procKey{h.PID, h.StartTime}
	e := &procEntry{key: k, p: h}
	prev := en.cache.get(k)
	if prev == nil {
		prev = en.cache.pid(h.PPID) // a fork the sensor missed: inherit
	}
	if prev != nil {
		e.p.Cwd, e.p.Stdin, e.p.Stdout = prev.p.Cwd, prev.p.Stdin, prev.p.Stdout
		e.container = prev.container
	}
	e.p.Args = r.argv
	if k := fdKindName(r.stdio[0]); k != "" {
		e.p.Stdin = k
	}
	if k := fdKindName(r.stdio[1]); k != "" {
		e.p.Stdout = k
	}
	// The container is asked even when the process is already gone: its
	// (cgroup, mount namespace) may be known from an earlier process.
	if id, ok := en.containerOf(h.PID, h.CgroupID, h.MntNS); ok {
		e.container = id
	}
	// The kernel resolves the executable and the cwd; /proc is read only
	// when it could not (too deep or too long a path, degraded mode).
	alive := true
	if r.exe != "" {
		e.p.Exe = r.exe
	} else if exe, del, memfd, ok := en.proc.exe(h.PID); ok {
		e.p.Exe, e.p.ExeDeleted, e.p.ExeMemfd = exe, del, memfd
	} else {
		alive = false
	}
	if r.cwd != "" {
		e.p.Cwd = r.cwd
	} else if alive && (e.p.Cwd == "" || !strings.HasPrefix(r.filename, "/")) {
		if cwd := en.proc.cwd(h.PID); cwd != "" {
			e.p.Cwd = cwd
		}
	}
	if alive && len(e.p.Args) == 0 {
		e.p.Args = en.proc.cmdline(h.PID)
	}
	if e.p.Exe == "" {
		if exe, del, memfd, ok := en.proc.fdExe(r.filename); ok {
			e.p.Exe, e.p.ExeDeleted, e.p.ExeMemfd = exe, del, memfd
		}
	}
	if e.p.Exe == "" {
		e.p.Exe = r.filename
		if !strings.HasPrefix(e.p.Exe, "/") && e.p.Cwd != "" {
			e.p.Exe = filepath.Join(e.p.Cwd, e.p.Exe)
		}
	}
	if r.header.flags&hfExeMemfd != 0 {
		e.p.ExeMemfd = true
		if !strings.HasPrefix(e.p.Exe, "/memfd:") {
			e.p.Exe = "/" + r.dname
		}
	}
	if r.header.flags&hfExeDeleted != 0 && !e.p.ExeMemfd {
		e.p.ExeDeleted = true
	}
	en.cache.put(e)
	return e
}

// maxCgroups bounds the container ID cache.
const maxCgroups = 4096

// cgroupKey is where a process runs: its cgroup v2 id and mount
// namespace. Every process with the same key is in the same container (on
// cgroup v1 and hybrid hosts the v2 id is the root's for all, and the
// mount namespace, which every container has its own of, tells them
// apart).
type cgroupKey struct {
	cgroup uint64
	mntNS  uint32
}

// containerOf is the container ID of a process: cached per cgroupKey, read
// from /proc/PID/cgroup on a miss (so host processes cost one read per
// cgroup and namespace, not one per exec).
func (en *enricher) containerOf(pid int32, cg uint64, mntNS uint32) (string, bool) {
	k := cgroupKey{cg, mntNS}
	if mntNS != 0 {
		if id, ok := en.cgroups[k]; ok {
			return id, true
		}
	}
	id, ok := en.proc.containerID(pid)
	// A container ID is cached for its (cgroup, mount namespace). "Host"
	// is cached only for the host's own mount namespace: a process being
	// started into a container (runc exec) can be in the container's mount
	// namespace before it joins the container's cgroup, and on a host
	// mixing cgroup v1 and v2 the v2 id does not tell containers apart, so
	// a negative answer there would stick to every later process of that
	// container.
	if ok && mntNS != 0 && (id != "" || mntNS == en.hostMntNS) {
		if len(en.cgroups) >= maxCgroups {
			clear(en.cgroups)
			if en.forget != nil {
				en.forget()
			}
		}
		en.cgroups[k] = id
		if en.known != nil {
			en.known(k)
		}
	}
	return id, ok
}

// details fills the kind-specific parts of an event.
func (en *enricher) details(r *record, ev *Event) bool {
	switch r.kind {
	case rkExec:
		ev.File = &File{Path: ev.Process.Exe}
		ev.Args = map[string]any{"filename": r.filename}
	case rkFork:
		ev.Args = map[string]any{"parentPid": int64(r.pid)}
	case rkConnect, rkAccept, rkBind, rkListen:
		ev.Network = netOf(r)
	case rkTCPState:
		n := &Network{Family: familyName(r.family), Protocol: "tcp",
			SrcPort: r.sport, DstPort: r.dport,
			OldState: tcpStateName(r.oldState), NewState: tcpStateName(r.newState)}
		n.SrcAddr, n.DstAddr = ipString(r.family, r.saddr), ipString(r.family, r.daddr)
		ev.Network = n
	case rkOpen:
		write := r.fileFlags&writeFlags != 0
		// Beyond pathRules.open, the kernel passes what has no path to
		// match: a file of another mount namespace reached through
		// /proc/PID/root (kept for processes outside the host's: the host
		// side is inventory, the agent's own among it), and every
		// open_by_handle_at.
		other := r.header.flags&hfOtherMnt != 0 && ev.Process.MntNS != en.hostMntNS
		byHandle := r.header.flags&hfByHandle != 0
		if !other && !byHandle && !en.paths.open(r.path, write) {
			return false
		}
		ev.File = &File{Path: r.path, Flags: r.fileFlags, Write: write}
		if byHandle {
			ev.setArg("via", "open_by_handle_at")
		}
		if r.path2 != "" && r.path2 != r.path {
			// Resolved from the file: the name the caller used.
			ev.setArg("openedAs", r.path2)
		}
	case rkChmod:
		r.path = cleanPath(r.path)
		if !en.paths.chmod(r.path, r.mode) {
			return false
		}
		ev.File = &File{Path: r.path, Mode: r.mode}
	case rkUnlink, rkRename, rkTruncate:
		// The kernel leaves "//", "." and ".." to user space (and passes
		// such paths unmatched); relative ones it has joined to their
		// directory.
		r.path, r.path2 = cleanPath(r.path), cleanPath(r.path2)
		if !en.paths.changed(r.path, r.path2) {
			return false
		}
		ev.File = &File{Path: r.path, NewPath: r.path2}
		switch r.kind {
		case rkUnlink:
			ev.Args = map[string]any{"flags": int64(r.fileFlags)}
		case rkRename:
			ev.Args = map[string]any{"flags": int64(r.fileFlags)}
		}
	case rkLink:
		// The target of a symbolic link is relative to the link's
		// directory; the kernel passes one with ".." (or aliased) here.
		symbolic := r.mode == 1
		r.path2 = cleanPath(r.path2)
		if symbolic && !strings.HasPrefix(r.path, "/") && strings.HasPrefix(r.path2, "/") {
			r.path = filepath.Join(filepath.Dir(r.path2), r.path)
		}
		r.path = cleanPath(r.path)
		if !en.paths.link(r.path, r.path2) {
			return false
		}
		ev.File = &File{Path: r.path, NewPath: r.path2}
		typ := "hard"
		if symbolic {
			typ = "symbolic"
		}
		ev.Args = map[string]any{"type": typ, "flags": int64(r.fileFlags)}
	case rkSetns:
		// Which namespace: the file's type is not in the record, the
		// host's namespaces are known (hostNS); a pidfd names a process.
		typ, host := nsTypeName(r.nsType), int64(0)
		if t, ok := en.hostNS[r.nsInum]; ok {
			typ, host = t, 1
		}
		ev.Args = map[string]any{"nsType": typ, "nsInum": int64(r.nsInum), "host": host}
		if r.target != 0 {
			ev.Args["targetPid"] = int64(r.target)
			t := en.cache.pid(int32(r.target))
			if t == nil {
				t = en.loadPID(int32(r.target))
			}
			if t != nil {
				p := t.p
				ev.Target = &p
				if p.MntNS == en.hostMntNS {
					ev.Args["host"] = int64(1)
				}
			}
		}
	case rkPtrace:
		ev.Args = map[string]any{"request": r.request, "requestName": ptraceName(r.request), "targetPid": int64(r.target)}
		if t := en.cache.pid(int32(r.target)); t != nil {
			p := t.p
			ev.Target = &p
		} else if t := en.loadPID(int32(r.target)); t != nil {
			p := t.p
			ev.Target = &p
		} else {
			ev.Target = &Process{PID: int32(r.target)}
		}
	case rkMemfd:
		ev.Args = map[string]any{"name": r.name, "flags": int64(r.fileFlags)}
	case rkMount:
		ev.Mount = &Mount{Source: r.source, Target: r.mtarget, FSType: r.fstype, Flags: r.mountFlags}
	case rkBPF:
		ev.Args = bpfArgs(r.cmd, r.attr)
	case rkModule:
		ev.Args = map[string]any{"name": r.name, "params": r.modArgs, "fd": int64(r.fd)}
	}
	return true
}

// setArg sets one of the event's Args, making the map if needed.
func (ev *Event) setArg(k string, v any) {
	if ev.Args == nil {
		ev.Args = map[string]any{}
	}
	ev.Args[k] = v
}

// nsTypes are the namespace types with their CLONE_NEW* flags.
var nsTypes = []struct {
	name string
	flag uint32
}{
	{"mnt", 0x00020000}, {"cgroup", 0x02000000}, {"uts", 0x04000000}, {"ipc", 0x08000000},
	{"user", 0x10000000}, {"pid", 0x20000000}, {"net", 0x40000000}, {"time", 0x00000080},
}

// nsTypeName names setns's nstype argument ("" for 0, any type).
func nsTypeName(flag uint32) string {
	for _, t := range nsTypes {
		if t.flag == flag {
			return t.name
		}
	}
	return ""
}

// procMem matches a process's memory file, /proc/PID/mem (or a
// thread's): the kernel reports reads of it wherever /proc is watched or
// not.
var procMem = regexp.MustCompile(`^/proc/[^/]+/(task/[0-9]+/)?mem$`)

// procRoot matches a path through another process's root directory.
var procRoot = regexp.MustCompile(`^/proc/[^/]+/(task/[0-9]+/)?root(/|$)`)

// isReleaseAgent says whether p is a cgroup v1 release_agent or
// notify_on_release file, wherever the hierarchy is mounted.
func isReleaseAgent(p string) bool {
	b := path.Base(p)
	return b == "release_agent" || b == "notify_on_release"
}

// opensAnother says whether an open event went through another process's
// root directory (/proc/PID/root/…) — the kernel reports those when the
// file is in another mount namespace.
func opensAnother(ev *Event) bool {
	p, _ := ev.Args["openedAs"].(string)
	return procRoot.MatchString(p)
}

// cleanPath cleans an absolute path lexically ("//", ".", ".."); it
// leaves others ("", or relative when the kernel could not join one) as
// they are.
func cleanPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	return filepath.Clean(p)
}

// writeFlags are the open(2) flags that mean writing.
const writeFlags = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000

func familyName(f uint16) string {
	switch f {
	case 1:
		return "unix"
	case 2:
		return "inet"
	case 10:
		return "inet6"
	}
	return ""
}

func ipString(family uint16, b [16]byte) string {
	switch family {
	case 2:
		return netip.AddrFrom4([4]byte(b[:4])).String()
	case 10:
		return netip.AddrFrom16(b).String()
	}
	return ""
}

// sockaddr decodes a struct sockaddr the caller passed.
func sockaddr(b []byte) (family uint16, addr string, port uint16, path string) {
	if len(b) < 2 {
		return 0, "", 0, ""
	}
	family = le.Uint16(b)
	switch family {
	case 1:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 { // abstract
			return family, "", 0, "@" + string(bytes.TrimRight(p[1:], "\x00"))
		}
		return family, "", 0, cstr(p)
	case 2:
		if len(b) >= 8 {
			return family, netip.AddrFrom4([4]byte(b[4:8])).String(), uint16(b[2])<<8 | uint16(b[3]), ""
		}
	case 10:
		if len(b) >= 24 {
			return family, netip.AddrFrom16([16]byte(b[8:24])).String(), uint16(b[2])<<8 | uint16(b[3]), ""
		}
	}
	return family, "", 0, ""
}

// netOf builds the Network of a socket call. Src is the local end and Dst
// the remote one, except for accept, where Src is the peer that connected
// and Dst the local address it reached.
func netOf(r *record) *Network {
	n := &Network{Family: familyName(r.family), Protocol: protoName(r.proto, r.sockType)}
	local, remote := ipString(r.family, r.saddr), ipString(r.family, r.daddr)
	switch r.kind {
	case rkConnect:
		fam, addr, port, path := sockaddr(r.uaddr)
		if n.Family == "" {
			n.Family = familyName(fam)
		}
		n.DstAddr, n.DstPort, n.Path = addr, port, path
		if r.family == 2 || r.family == 10 {
			n.SrcAddr, n.SrcPort = local, r.sport
		}
	case rkBind:
		fam, addr, port, path := sockaddr(r.uaddr)
		if n.Family == "" {
			n.Family = familyName(fam)
		}
		n.SrcAddr, n.SrcPort, n.Path = addr, port, path
	case rkAccept:
		n.SrcAddr, n.SrcPort, n.DstAddr, n.DstPort = remote, r.dport, local, r.sport
	case rkListen:
		n.SrcAddr, n.SrcPort = local, r.sport
	}
	return n
}

func protoName(proto, sockType uint16) string {
	switch proto {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	switch sockType {
	case 1:
		return "tcp" // SOCK_STREAM on inet; unix stream sockets say "" below
	case 2:
		return "udp"
	}
	return ""
}

var tcpStates = [...]string{1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}

func tcpStateName(s int32) string {
	if s > 0 && int(s) < len(tcpStates) {
		return tcpStates[s]
	}
	return ""
}

func ptraceName(req int64) string {
	switch req {
	case 4:
		return "POKETEXT"
	case 5:
		return "POKEDATA"
	case 6:
		return "POKEUSER"
	case 13:
		return "SETREGS"
	case 16:
		return "ATTACH"
	case 0x4206:
		return "SEIZE"
	case 0x10000: // bpf/sensor.bpf.c: PVM_READV
		return "PROCESS_VM_READV"
	case 0x10001:
		return "PROCESS_VM_WRITEV"
	}
	return ""
}

// bpfArgs describes a bpf() call from its command and the head of its
// attribute union.
func bpfArgs(cmd uint32, attr []byte) map[string]any {
	a := map[string]any{"cmd": int64(cmd)}
	switch cmd {
	case 0:
		a["cmdName"] = "BPF_MAP_CREATE"
		if len(attr) >= 44 {
			a["mapType"] = int64(le.Uint32(attr))
			a["mapName"] = cstr(attr[28:44])
		}
	case 5:
		a["cmdName"] = "BPF_PROG_LOAD"
		if len(attr) >= 64 {
			a["progType"] = int64(le.Uint32(attr))
			a["progName"] = cstr(attr[48:64])
		}
	case 17:
		a["cmdName"] = "BPF_RAW_TRACEPOINT_OPEN"
	case 28:
		a["cmdName"] = "BPF_LINK_CREATE"
	}
	return a
}
