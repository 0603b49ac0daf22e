package hostinv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// Module is one loaded kernel module, from /proc/modules.
type Module struct {
	Name string `json:"name"`
	// Size is the module's memory size in bytes.
	Size uint64 `json:"size"`
	// RefCount is the use count; -1 when the kernel does not track it.
	RefCount int `json:"refCount"`
	// Deps lists the modules using this one.
	Deps []string `json:"deps,omitempty"`
	// State is "Live", "Loading" or "Unloading".
	State string `json:"state"`
	// Taints holds the module's taint flags ("OE" for an out-of-tree,
	// unsigned module), if any.
	Taints string `json:"taints,omitempty"`
}

func (c *collector) collectModules(context.Context) {
	name := filepath.Join(c.opts.Proc, "modules")
	data, err := readProcFile(name, c.opts.MaxFileSize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // absent without module support
			c.problem("module", name, err)
		}
		return
	}
	mods, probs := parseModules(data, c.opts.MaxEntries)
	c.snap.Modules = mods
	c.lineProblems("module", name, probs)
}

// parseModules parses /proc/modules: one module a line,
// "name size refcount deps state address [(taints)]", deps being "-" or a
// comma-terminated list. At most max modules are kept.
func parseModules(data []byte, max int) ([]Module, []lineProblem) {
	var mods []Module
	var probs []lineProblem
	seen := map[string]bool{}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m, err := parseModuleRow(f)
		switch {
		case err != nil:
			probs = addProblem(probs, n, err.Error())
		case seen[m.Name]:
			probs = addProblem(probs, n, fmt.Sprintf("duplicate module %q", truncate(m.Name, 64)))
		case len(mods) >= max:
			return mods, addProblem(probs, n, ErrTooManyEntries.Error())
		default:
			seen[m.Name] = true
			mods = append(mods, m)
		}
	}
	return mods, probs
}

// parseModuleRow parses the fields of one /proc/modules line.
func parseModuleRow(f []string) (Module, error) {
	if len(f) < 5 {
		return Module{}, fmt.Errorf("module line has %d fields, want at least 5", len(f))
	}
	size, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Module{}, fmt.Errorf("bad module size %q", truncate(f[1], 32))
	}
	ref := -1
	if f[2] != "-" {
		if ref, err = strconv.Atoi(f[2]); err != nil || ref < 0 {
			return Module{}, fmt.Errorf("bad module refcount %q", truncate(f[2], 32))
		}
	}
	m := Module{Name: f[0], Size: size, RefCount: ref, State: f[4]}
	if f[3] != "-" {
		m.Deps = splitList(f[3], ",")
	}
	if len(f) > 6 {
		m.Taints = strings.Trim(f[6], "()")
	}
	return m, nil
}
