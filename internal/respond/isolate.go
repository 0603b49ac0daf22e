package respond

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// IsolateTable is the nftables table (family inet) that Isolate installs in
// the target's network namespace and Unisolate removes.
const IsolateTable = "vigil_isolate"

// IsolateTarget names a container's network namespace by a process inside
// it.
type IsolateTarget struct {
	// PID is a process in the namespace, as a PID in the responder's PID
	// namespace.
	PID int32
	// StartTime (sensor nanoseconds) identifies the process as for Kill;
	// when set, a PID now owned by another process is refused. Zero skips
	// the check.
	StartTime uint64
	// Container names the container in the record; informational.
	Container string
}

func (t IsolateTarget) String() string {
	s := fmt.Sprintf("netns of pid %d", t.PID)
	if t.Container != "" {
		s += " (container " + t.Container + ")"
	}
	return s
}

// Isolate cuts the target's network namespace off the network: it installs
// (or replaces) the table inet vigil_isolate there, whose input, forward and
// output base chains drop every packet except those on the loopback
// interface. Existing connections stop too: the chains drop regardless of
// connection state. Nothing outside that namespace is changed, and the
// responder's own namespace, and PID 1's when /proc lets the responder see
// it, are refused with ErrHostNetwork.
func (r *Responder) Isolate(t IsolateTarget) (Record, error) {
	rec := r.record(ActionIsolate, t.String())
	ns, err := openNetNS(t)
	if err != nil {
		return fail(rec, fmt.Errorf("isolate: %w", err))
	}
	defer unix.Close(ns.fd)
	if r.dryRun {
		rec.Detail = fmt.Sprintf("would install table inet %s in net:[%d]: drop all but loopback", IsolateTable, ns.ino)
		return rec, nil
	}
	c, err := nftables.New(nftables.WithNetNSFd(ns.fd))
	if err != nil {
		return fail(rec, fmt.Errorf("isolate: nftables: %w", err))
	}
	exists, err := hasTable(c)
	if err != nil {
		return fail(rec, fmt.Errorf("isolate net:[%d]: %w", ns.ino, err))
	}
	tab := &nftables.Table{Name: IsolateTable, Family: nftables.TableFamilyINet}
	if exists {
		c.DelTable(tab) // replaced atomically in the same batch
	}
	c.AddTable(tab)
	drop := nftables.ChainPolicyDrop
	for _, ch := range []struct {
		name string
		hook *nftables.ChainHook
		lo   expr.MetaKey // loopback test; 0: none
	}{
		{"input", nftables.ChainHookInput, expr.MetaKeyIIFNAME},
		{"forward", nftables.ChainHookForward, 0},
		{"output", nftables.ChainHookOutput, expr.MetaKeyOIFNAME},
	} {
		chain := c.AddChain(&nftables.Chain{
			Name: ch.name, Table: tab, Type: nftables.ChainTypeFilter,
			Hooknum: ch.hook, Priority: nftables.ChainPriorityRaw, Policy: &drop,
		})
		if ch.lo != 0 {
			c.AddRule(&nftables.Rule{Table: tab, Chain: chain, Exprs: []expr.Any{
				&expr.Meta{Key: ch.lo, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
				&expr.Verdict{Kind: expr.VerdictAccept},
			}})
		}
	}
	if err := c.Flush(); err != nil {
		return fail(rec, fmt.Errorf("isolate net:[%d]: install table: %w", ns.ino, err))
	}
	rec.Detail = fmt.Sprintf("installed table inet %s in net:[%d]: input, forward and output drop all but loopback", IsolateTable, ns.ino)
	return rec, nil
}

// Unisolate removes the table Isolate installed in the target's network
// namespace. A namespace without it is reported as not isolated, not as an
// error.
func (r *Responder) Unisolate(t IsolateTarget) (Record, error) {
	rec := r.record(ActionUnisolate, t.String())
	ns, err := openNetNS(t)
	if err != nil {
		return fail(rec, fmt.Errorf("unisolate: %w", err))
	}
	defer unix.Close(ns.fd)
	c, err := nftables.New(nftables.WithNetNSFd(ns.fd))
	if err != nil {
		return fail(rec, fmt.Errorf("unisolate: nftables: %w", err))
	}
	exists, err := hasTable(c)
	if err != nil {
		return fail(rec, fmt.Errorf("unisolate net:[%d]: %w", ns.ino, err))
	}
	switch {
	case !exists:
		rec.Detail = fmt.Sprintf("net:[%d] is not isolated (no table inet %s)", ns.ino, IsolateTable)
		return rec, nil
	case r.dryRun:
		rec.Detail = fmt.Sprintf("would delete table inet %s from net:[%d]", IsolateTable, ns.ino)
		return rec, nil
	}
	c.DelTable(&nftables.Table{Name: IsolateTable, Family: nftables.TableFamilyINet})
	if err := c.Flush(); err != nil {
		return fail(rec, fmt.Errorf("unisolate net:[%d]: delete table: %w", ns.ino, err))
	}
	rec.Detail = fmt.Sprintf("deleted table inet %s from net:[%d]", IsolateTable, ns.ino)
	return rec, nil
}

// hasTable says the namespace has the isolation table.
func hasTable(c *nftables.Conn) (bool, error) {
	tabs, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tabs {
		if t.Name == IsolateTable {
			return true, nil
		}
	}
	return false, nil
}

// ifname pads an interface name to IFNAMSIZ, as the kernel compares it.
func ifname(s string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, s)
	return b
}

type netNS struct {
	fd  int
	ino uint64
}

// openNetNS opens the network namespace of t's process. A pidfd taken
// first and found alive after /proc/PID/ns/net was opened proves the
// namespace belongs to that process and not to a newcomer with its PID.
func openNetNS(t IsolateTarget) (netNS, error) {
	if t.PID <= 0 {
		return netNS{}, fmt.Errorf("pid %d: %w: not a process", t.PID, ErrIdentity)
	}
	pfd, err := unix.PidfdOpen(int(t.PID), 0)
	if errors.Is(err, unix.ESRCH) {
		return netNS{}, fmt.Errorf("pid %d: %w", t.PID, ErrGone)
	}
	if err != nil {
		return netNS{}, fmt.Errorf("pid %d: pidfd_open: %w", t.PID, err)
	}
	defer unix.Close(pfd)
	if t.StartTime != 0 {
		if err := verify(t.PID, t.StartTime); err != nil {
			return netNS{}, err
		}
	}
	name := fmt.Sprintf("/proc/%d/ns/net", t.PID)
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return netNS{}, fmt.Errorf("open %s: %w", name, err)
	}
	if err := unix.PidfdSendSignal(pfd, 0, nil, 0); err != nil {
		unix.Close(fd)
		return netNS{}, fmt.Errorf("pid %d: %w (%w)", t.PID, ErrGone, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return netNS{}, fmt.Errorf("stat %s: %w", name, err)
	}
	for _, host := range []string{"/proc/self/ns/net", "/proc/1/ns/net"} {
		var h unix.Stat_t
		err := unix.Stat(host, &h)
		if host == "/proc/1/ns/net" && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
			// PID 1 may be shielded from us (a sandbox's init, an LSM);
			// the responder's own namespace is still refused.
			continue
		}
		if err != nil {
			unix.Close(fd)
			return netNS{}, fmt.Errorf("stat %s: %w", host, err)
		}
		if h.Dev == st.Dev && h.Ino == st.Ino {
			unix.Close(fd)
			return netNS{}, fmt.Errorf("pid %d (net:[%d], same as %s): %w", t.PID, st.Ino, host, ErrHostNetwork)
		}
	}
	return netNS{fd: fd, ino: st.Ino}, nil
}
