package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cgroupRoot is where cgroup v2 is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// LimitCPU caps the agent process at share of one CPU by moving it into a
// cgroup of its own with a CPU quota — cpu.max under cgroup v2, the CFS
// quota of the cpu controller under cgroup v1 — so the kernel enforces the
// cap whatever the agent does. It fails, changing nothing, where that is
// not possible (no cpu controller, not allowed to create groups, the
// controller not delegated).
func LimitCPU(share float64) error {
	if share <= 0 || share > 64 {
		return fmt.Errorf("CPU share %v out of range", share)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err != nil {
		if _, errV1 := os.Stat(filepath.Join(cgroupRoot, "cpu", "cpu.cfs_quota_us")); errV1 == nil {
			return limitCPUv1(share)
		}
		return errors.New("no cgroup v2 hierarchy and no cgroup v1 cpu controller under " + cgroupRoot)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	var rel string
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel = p
		}
	}
	if rel == "" {
		return errors.New("process is not in a cgroup v2 group")
	}
	parent := filepath.Join(cgroupRoot, rel)
	// A process may only live in leaf groups once controllers are enabled
	// for children: the agent's group is a sibling, not a child, of its
	// current one when the current one has other members.
	ctrls, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil || !strings.Contains(string(ctrls), "cpu") {
		parent = filepath.Dir(parent)
		ctrls, err = os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
		if err != nil || !strings.Contains(string(ctrls), "cpu") {
			return errors.New("the cpu controller is not enabled for the agent's cgroup")
		}
	}
	dir := filepath.Join(parent, "vigil-agent-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	period := 100000
	quota := max(int(share*float64(period)), 1000)
	if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, period)), 0o644); err != nil {
		os.Remove(dir)
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.Remove(dir)
		return err
	}
	return nil
}

// limitCPUv1 does LimitCPU with the cgroup v1 cpu controller.
func limitCPUv1(share float64) error {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	rel := "/"
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "cpu") {
			rel = f[2]
		}
	}
	dir := filepath.Join(cgroupRoot, "cpu", rel, "vigil-agent-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	period := 100000
	quota := max(int(share*float64(period)), 1000)
	for _, w := range []struct{ file, value string }{
		{"cpu.cfs_period_us", strconv.Itoa(period)},
		{"cpu.cfs_quota_us", strconv.Itoa(quota)},
		{"cgroup.procs", strconv.Itoa(os.Getpid())},
	} {
		if err := os.WriteFile(filepath.Join(dir, w.file), []byte(w.value), 0o644); err != nil {
			os.Remove(dir)
			return fmt.Errorf("%s: %w", w.file, err)
		}
	}
	return nil
}
