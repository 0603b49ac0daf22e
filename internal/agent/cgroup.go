package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where cgroup v2 is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// LimitCPU caps the agent process at share of one CPU by moving it into a
// cgroup v2 child of its current cgroup with cpu.max set: the kernel
// enforces the cap whatever the agent does. It fails, changing nothing,
// where that is not possible (no cgroup v2, not allowed to create groups,
// cpu controller not delegated).
func LimitCPU(share float64) error {
	if share <= 0 || share > 64 {
		return fmt.Errorf("CPU share %v out of range", share)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err != nil {
		return errors.New("no cgroup v2 hierarchy at " + cgroupRoot)
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
