package sensor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/sensor/bpf"
)

// ebpfBackend is the loaded and attached eBPF programs and the ring
// buffer reader.
type ebpfBackend struct {
	coll  *ebpf.Collection
	links []link.Link
	rd    *ringbuf.Reader
	rec   ringbuf.Record
	poll  time.Duration // read's current interval, pollMin…pollMax

	mu    sync.Mutex // guards drops and final
	drops *ebpf.Map
	final [rkMax]uint64 // the counters when the programs were closed
}

// syscallKinds maps the syscalls the programs hook to the kind they
// report; programs of kinds not enabled are neither loaded nor attached
// (wantsHook).
var syscallKinds = map[string]Kind{
	"connect": KindConnect, "accept": KindAccept, "accept4": KindAccept,
	"bind": KindBind, "listen": KindListen, "inet_sock_set_state": KindTCPState,
	"open": KindOpen, "openat": KindOpen, "openat2": KindOpen, "creat": KindOpen,
	"unlink": KindUnlink, "unlinkat": KindUnlink, "rmdir": KindUnlink,
	"rename": KindRename, "renameat": KindRename, "renameat2": KindRename,
	"chmod": KindChmod, "fchmodat": KindChmod, "fchmodat2": KindChmod,
	"setuid": KindSetUID, "setreuid": KindSetUID, "setresuid": KindSetUID, "setfsuid": KindSetUID,
	"setgid": KindSetGID, "setregid": KindSetGID, "setresgid": KindSetGID, "setfsgid": KindSetGID,
	"setuid16": KindSetUID, "setreuid16": KindSetUID, "setresuid16": KindSetUID, "setfsuid16": KindSetUID,
	"setgid16": KindSetGID, "setregid16": KindSetGID, "setresgid16": KindSetGID, "setfsgid16": KindSetGID,
	"capset": KindCapset, "ptrace": KindPtrace, "memfd_create": KindMemfd, "mount": KindMount,
	"bpf": KindBPF, "init_module": KindModuleLoad, "finit_module": KindModuleLoad,
	"symlink": KindLink, "symlinkat": KindLink, "link": KindLink, "linkat": KindLink,
	"open_by_handle_at": KindOpen, "setns": KindSetns, "process_vm_readv": KindPtrace, "process_vm_writev": KindPtrace,
	"fchmod": KindChmod, "truncate": KindTruncate, "ftruncate": KindTruncate,
	"truncate64": KindTruncate, "ftruncate64": KindTruncate,
}

// multiKindSyscalls are the hooks that report several kinds: ia32's
// socketcall, the entry of every socket call of older 32-bit code, and
// io_uring's submission tracepoint.
var multiKindSyscalls = map[string][]Kind{
	"socketcall":          {KindConnect, KindBind, KindListen, KindAccept},
	"io_uring_submit_req": {KindOpen, KindUnlink, KindRename, KindLink, KindConnect},
}

// hookAvailable says whether the kernel has a hook the programs need only
// where it exists: io_uring's tracepoint (and the io_uring types its
// program reads) is missing from a kernel built without io_uring, where
// nothing can be submitted that way either.
func hookAvailable(hook string) bool {
	if hook != "io_uring_submit_req" {
		return true
	}
	for _, d := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(d + "/io_uring/io_uring_submit_req"); err == nil {
			return true
		}
	}
	return false
}

// wantsHook says whether the programs of hook (a system call or
// tracepoint) report a kind that is enabled.
func (o *Options) wantsHook(hook string) bool {
	if ks, ok := multiKindSyscalls[hook]; ok {
		return slices.ContainsFunc(ks, o.enabled)
	}
	k, ok := syscallKinds[hook]
	return !ok || o.enabled(k)
}

// hookName is the syscall or tracepoint a program's section names.
func hookName(section string) string {
	name := section[strings.LastIndexByte(section, '/')+1:]
	if s, ok := strings.CutPrefix(name, "sys_enter_"); ok {
		return s
	}
	if s, ok := strings.CutPrefix(name, "sys_exit_"); ok {
		return s
	}
	return name
}

// ErrNoBTF says the kernel offers no BTF, which the CO-RE programs need.
var ErrNoBTF = errors.New("kernel BTF unavailable (/sys/kernel/btf/vmlinux)")

func loadEBPF(o Options) (_ *ebpfBackend, err error) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, ErrNoBTF
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock limit: %w", err)
	}
	if err := ensureTracefs(); err != nil {
		return nil, err
	}
	if len(syscallNumbers) == 0 {
		return nil, errors.New("eBPF sensor: system call programs are written for x86-64 registers only")
	}
	spec, err := bpf.LoadSensor()
	if err != nil {
		return nil, fmt.Errorf("load sensor spec: %w", err)
	}
	spec.Maps["events"].MaxEntries = uint32(o.RingBufferSize)
	for name, p := range spec.Programs {
		hook := hookName(p.SectionName)
		if !o.wantsHook(hook) || !hookAvailable(hook) {
			delete(spec.Programs, name)
		}
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("verifier rejected sensor programs: %w", ve)
		}
		return nil, fmt.Errorf("load sensor programs: %w", err)
	}
	b := &ebpfBackend{coll: coll, drops: coll.Maps["drops"], poll: pollMin}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if err := fillWatched(coll.Maps["watched"], o.WatchedPaths, o.ReadPaths, o.ExecPaths); err != nil {
		return nil, err
	}
	if err := b.attach(spec, coll); err != nil {
		return nil, err
	}
	b.rd, err = ringbuf.NewReader(coll.Maps["events"])
	if err != nil {
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	return b, nil
}

// attach fills the system call tables with the SYS_ENTER/SYS_EXIT
// programs — by native number (enter_calls, exit_calls) and by ia32
// number (enter_calls32, exit_calls32) — then attaches the tracepoints:
// the sys_exit dispatcher before sys_enter, so that every stash made at an
// entry has its exit seen.
func (b *ebpfBackend) attach(spec *ebpf.CollectionSpec, coll *ebpf.Collection) error {
	var tracepoints, dispatchers []string
	for name := range coll.Programs {
		sec := spec.Programs[name].SectionName
		hook, isTP := strings.CutPrefix(sec, "raw_tracepoint/")
		var table string
		switch {
		case isTP && strings.HasPrefix(hook, "sys_enter_"):
			table = "enter_calls"
		case isTP && strings.HasPrefix(hook, "sys_exit_"):
			table = "exit_calls"
		case isTP && (hook == "sys_enter" || hook == "sys_exit"):
			dispatchers = append(dispatchers, name)
			continue
		default:
			tracepoints = append(tracepoints, name)
			continue
		}
		sys := hookName(sec)
		nr, native := syscallNumbers[sys]
		nr32, compat := compatSyscallNumbers[sys]
		if !native && !compat {
			return fmt.Errorf("program %s: no system call number for %q", name, sys)
		}
		if native {
			if err := coll.Maps[table].Put(nr, coll.Programs[name]); err != nil {
				return fmt.Errorf("program %s: into %s[%d]: %w", name, table, nr, err)
			}
		}
		if compat {
			if err := coll.Maps[table+"32"].Put(nr32, coll.Programs[name]); err != nil {
				return fmt.Errorf("program %s: into %s32[%d]: %w", name, table, nr32, err)
			}
		}
	}
	slices.SortFunc(dispatchers, func(a, b string) int { // sys_exit first
		return strings.Compare(spec.Programs[b].SectionName, spec.Programs[a].SectionName)
	})
	for _, name := range append(tracepoints, dispatchers...) {
		sec := spec.Programs[name].SectionName
		p := coll.Programs[name]
		var l link.Link
		var err error
		switch {
		case strings.HasPrefix(sec, "tracepoint/"):
			parts := strings.Split(sec, "/")
			if len(parts) != 3 {
				return fmt.Errorf("program %s: bad section %q", name, sec)
			}
			l, err = link.Tracepoint(parts[1], parts[2], p, nil)
		case strings.HasPrefix(sec, "raw_tracepoint/"):
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: hookName(sec), Program: p})
		default:
			return fmt.Errorf("program %s: unknown section %q", name, sec)
		}
		if err != nil {
			return fmt.Errorf("attach %s: %w", sec, err)
		}
		b.links = append(b.links, l)
	}
	return nil
}

// ensureTracefs mounts tracefs if it is not mounted: tracepoints are
// found through it.
func ensureTracefs() error {
	for _, d := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(d); err == nil {
			return nil
		}
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs on /sys/kernel/tracing: %w", err)
	}
	return nil
}

// pathKey is the LPM trie key of bpf/sensor.bpf.c (struct path_key).
type pathKey struct {
	PrefixLen uint32
	Path      [pathSize]byte
}

// Watched-prefix values (bpf/sensor.bpf.c: PW_*).
const (
	pwReads    = 1 // reads are reported too, not only writes
	pwExecOnly = 2 // only a chmod adding an execute bit is reported (ExecPaths)
)

// fillWatched loads the watched prefixes into the kernel's LPM trie: the
// read-watched ones with pwReads. The longest prefix decides, so a watched
// prefix under a read-watched one inherits pwReads. An exec prefix
// (pwExecOnly) under a watched one is watched whole: its chmods are
// reported anyway.
func fillWatched(m *ebpf.Map, watched, reads, execs []string) error {
	vals := map[string]uint32{}
	for _, p := range watched {
		vals[kernelPrefix(p)] |= 0
	}
	for _, p := range execs {
		kp := kernelPrefix(p)
		if _, ok := vals[kp]; ok {
			continue
		}
		under := slices.ContainsFunc(slices.Concat(watched, reads), func(w string) bool { return strings.HasPrefix(kp, kernelPrefix(w)) })
		if !under {
			vals[kp] = pwExecOnly
		}
	}
	var readPrefixes []string
	for _, p := range reads {
		vals[kernelPrefix(p)] |= pwReads
		readPrefixes = append(readPrefixes, kernelPrefix(p))
	}
	for p := range vals {
		for _, r := range readPrefixes {
			if strings.HasPrefix(p, r) {
				vals[p] = vals[p]&^pwExecOnly | pwReads
			}
		}
	}
	if len(vals) > int(m.MaxEntries()) {
		return fmt.Errorf("%w: %d watched prefixes, at most %d", ErrOptions, len(vals), m.MaxEntries())
	}
	for p, v := range vals {
		var k pathKey
		k.PrefixLen = uint32(len(p) * 8)
		copy(k.Path[:], p)
		if err := m.Put(&k, &v); err != nil {
			return fmt.Errorf("watch %q: %w", p, err)
		}
	}
	return nil
}

// The reader looks at the ring buffer every poll interval when the kernel
// has not woken it: the programs wake it only once 64 KiB are waiting
// (bpf/sensor.bpf.c: WAKEUP_BYTES) or for an exec whose container is not
// known yet, so that a busy host costs one wakeup per batch, not one per
// record. The interval is pollMin while records come and doubles up to
// pollMax while none do, which bounds an event's delay and keeps an idle
// host's agent asleep.
const (
	pollMin = 10 * time.Millisecond
	pollMax = 80 * time.Millisecond
)

func (b *ebpfBackend) read() ([]byte, error) {
	for {
		b.rd.SetDeadline(time.Now().Add(b.poll))
		err := b.rd.ReadInto(&b.rec)
		if err == nil {
			b.poll = pollMin
			return b.rec.RawSample, nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.poll = min(2*b.poll, pollMax)
			continue // the records that were there have been read
		}
		if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
			return nil, errClosed
		}
		return nil, fmt.Errorf("read ring buffer: %w", err)
	}
}

// cgroupKnown tells the programs user space has the container of k: an
// exec there need not wake the reader at once (sensor.bpf.c: submit).
func (b *ebpfBackend) cgroupKnown(k cgroupKey) {
	key := struct {
		Cgroup uint64
		MntNS  uint32
		_      uint32
	}{k.cgroup, k.mntNS, 0}
	// Best effort: a failed update only costs a wakeup per exec there.
	_ = b.coll.Maps["known_cgroups"].Update(&key, uint8(1), ebpf.UpdateAny)
}

// setUnwanted tells the programs which record kinds not to report (bit
// 1 << rk); exec, fork and exit are reported whatever it says.
func (b *ebpfBackend) setUnwanted(mask uint64) error {
	return b.coll.Maps["unwanted"].Update(uint32(0), mask, ebpf.UpdateAny)
}

// cgroupsForgotten empties the programs' set when user space empties its
// cache.
func (b *ebpfBackend) cgroupsForgotten() {
	m := b.coll.Maps["known_cgroups"]
	var key [16]byte
	var keys [][16]byte
	it := m.Iterate()
	var v uint8
	for it.Next(&key, &v) {
		keys = append(keys, key)
	}
	for i := range keys {
		_ = m.Delete(&keys[i])
	}
}

func (b *ebpfBackend) kernelDrops() [rkMax]uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [rkMax]uint64
	if b.drops == nil {
		return b.final
	}
	var perCPU []uint64
	for k := uint32(0); k < uint32(rkMax); k++ {
		if err := b.drops.Lookup(&k, &perCPU); err != nil {
			continue
		}
		for _, n := range perCPU {
			out[k] += n
		}
	}
	return out
}

func (b *ebpfBackend) close() error {
	var errs []error
	for _, l := range b.links {
		errs = append(errs, l.Close())
	}
	b.links = nil
	if b.rd != nil {
		errs = append(errs, b.rd.Close())
	}
	// The drop counters stay readable after Close.
	final := b.kernelDrops()
	b.mu.Lock()
	b.final, b.drops = final, nil
	b.mu.Unlock()
	if b.coll != nil {
		b.coll.Close()
	}
	return errors.Join(errs...)
}
