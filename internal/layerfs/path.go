package layerfs

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// cleanName turns a tar entry name or hardlink target into an unrooted
// slash-separated path, "." for the root. Leading slashes are stripped, as
// Docker does; a name that still climbs above the root is ErrEscape.
func cleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty name", fs.ErrInvalid)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL in name", fs.ErrInvalid)
	}
	if !utf8.ValidString(name) {
		// io/fs cannot name it, so no view could show it.
		return "", fmt.Errorf("%w: name is not UTF-8", fs.ErrInvalid)
	}
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", ErrEscape
	}
	return p, nil
}

// validName reports whether s can be one path component of an index.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= nameMax &&
		!strings.ContainsAny(s, "/\x00") && utf8.ValidString(s)
}

// walkOpts say how walk resolves a path.
type walkOpts struct {
	follow   bool // follow a symlink in the last component
	lexical  bool // treat missing components as plain names instead of failing
	maxLinks int
}

// walk resolves name, a slash-separated path relative to root, the way
// securejoin does: a symlink met on the way is read and resolved in the
// same tree, an absolute target starts again at root, and ".." never climbs
// above root. It returns the components of the resolved path and the node
// there (nil if it does not exist and opts.lexical is set). Every
// intermediate symlink is followed; more than opts.maxLinks of them give
// ErrTooManyLinks, so loops end.
func walk(root *node, name string, opts walkOpts) ([]string, *node, error) {
	var (
		parts []string
		stack = []*node{root}
		links int
		rest  = name
	)
	for rest != "" {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := stack[len(stack)-1]
		if cur != nil && cur.kind != kindDir {
			return nil, nil, ErrNotDir
		}
		kid := cur.child(comp)
		if kid == nil && !opts.lexical {
			return nil, nil, fs.ErrNotExist
		}
		last := strings.Trim(rest, "/") == ""
		if kid != nil && kid.kind == kindSymlink && (!last || opts.follow || strings.HasSuffix(rest, "/")) {
			links++
			if links > opts.maxLinks {
				return nil, nil, ErrTooManyLinks
			}
			t := kid.target()
			if t == "" {
				return nil, nil, fs.ErrNotExist
			}
			if t[0] == '/' {
				parts = parts[:0]
				stack = stack[:1]
			}
			if rest != "" {
				t += "/" + rest
			}
			rest = t
			continue
		}
		parts = append(parts, comp)
		stack = append(stack, kid)
	}
	return parts, stack[len(stack)-1], nil
}

// lookupExact finds name in root without following any symlink.
func lookupExact(root *node, name string) *node {
	n := root
	for rest := name; rest != "" && n != nil; {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		if comp == "" || comp == "." {
			continue
		}
		n = n.child(comp)
	}
	return n
}

func joinPath(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return dir + "/" + name
}
