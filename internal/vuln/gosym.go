package vuln

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// maxPclntab bounds how much of a binary GoSymbols reads: the function
// table of the largest real Go binaries (kubelet, terraform) is well
// under 100 MiB.
const maxPclntab = 256 << 20

// ErrNoPclntab is returned for a file that is not a Go binary, or one
// whose function table cannot be found.
var ErrNoPclntab = errors.New("no Go function table (pclntab)")

// GoSymbols lists the functions linked into a Go binary (ELF, Mach-O or
// PE), named as the OSV Go database names vulnerable symbols:
// "import/path.Func" and "import/path.Type.Method" (pointer receivers and
// generic type arguments dropped, the "%2e" escape of dotted last path
// elements undone). A closure or wrapper ("pkg.F.func1", "pkg.T.M-fm")
// also counts for the function that contains it. Each import path with at
// least one function is in the set too, alone ("net/http"): advisories
// that name a whole package list its path without a symbol.
//
// It reads the function table the runtime itself uses (pclntab), which
// stripped binaries (-ldflags "-s -w") keep; it does not need the symbol
// table. Functions inlined into their callers count: their names are in
// the table's name list, which inline trees point into (Go 1.16 and later
// binaries; older ones list only functions with code of their own).
func GoSymbols(r io.ReaderAt) (syms map[string]bool, err error) {
	defer func() {
		// debug/gosym indexes the table without bounds checks of its own.
		if p := recover(); p != nil {
			syms, err = nil, fmt.Errorf("%w: corrupt table: %v", ErrNoPclntab, p)
		}
	}()
	data, text, err := findPclntab(r)
	if err != nil {
		return nil, err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPclntab, err)
	}
	if len(tab.Funcs) == 0 {
		return nil, ErrNoPclntab
	}
	syms = make(map[string]bool, len(tab.Funcs)*3)
	add := func(name string) {
		pkg, full, outer, ok := osvSymbol(name)
		if !ok {
			return
		}
		syms[full] = true
		syms[outer] = true
		syms[pkg] = true
	}
	for _, fn := range tab.Funcs {
		add(fn.Name)
	}
	// The function name table also names the functions inlined into
	// others (the inline trees point into it): a call inlined everywhere
	// still links the vulnerable code.
	for name := range funcNames(data) {
		add(name)
	}
	return syms, nil
}

// funcNames iterates over the pclntab's function name table (Go 1.16 and
// later): NUL-terminated names of every function and of every function
// inlined into one. Older tables yield nothing.
func funcNames(data []byte) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		if len(data) < 8 {
			return
		}
		var order binary.ByteOrder = binary.LittleEndian
		magic := order.Uint32(data)
		if binary.BigEndian.Uint32(data) >= 0xfffffff0 && magic < 0xfffffff0 {
			order = binary.BigEndian
			magic = order.Uint32(data)
		}
		var nameWord, cuWord int
		switch magic {
		case 0xfffffff0, 0xfffffff1: // Go 1.18, Go 1.20 and later
			nameWord, cuWord = 3, 4
		case 0xfffffffa: // Go 1.16
			nameWord, cuWord = 2, 3
		default:
			return
		}
		ptr := int(data[7])
		word := func(i int) (uint64, bool) {
			off := 8 + i*ptr
			if off+ptr > len(data) {
				return 0, false
			}
			if ptr == 4 {
				return uint64(order.Uint32(data[off:])), true
			}
			return order.Uint64(data[off:]), true
		}
		start, ok1 := word(nameWord)
		end, ok2 := word(cuWord)
		if !ok1 || !ok2 || start >= end || end > uint64(len(data)) {
			return
		}
		for tab := data[start:end]; len(tab) > 0; {
			i := bytes.IndexByte(tab, 0)
			if i < 0 {
				i = len(tab)
			}
			if i > 0 && !yield(string(tab[:i])) {
				return
			}
			tab = tab[min(i+1, len(tab)):]
		}
	}
}

// findPclntab returns the pclntab's bytes and the text start address,
// from the section the linker names for it where there is one (ELF
// .gopclntab, .data.rel.ro.gopclntab for PIE; Mach-O __gopclntab), else by
// looking for the table's header in the read-only data (PE, where it has
// no section of its own, and stripped-section ELF).
func findPclntab(r io.ReaderAt) ([]byte, uint64, error) {
	if f, err := elf.NewFile(r); err == nil {
		var text uint64
		if s := f.Section(".text"); s != nil {
			text = s.Addr
		}
		for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
			if s := f.Section(name); s != nil && s.Type != elf.SHT_NOBITS {
				b, err := readSection(s.Open(), s.Size)
				return b, text, err
			}
		}
		for _, name := range []string{".rodata", ".data.rel.ro"} {
			if s := f.Section(name); s != nil && s.Type != elf.SHT_NOBITS {
				if b, ok := scanPclntab(s.Open(), s.Size); ok {
					return b, text, nil
				}
			}
		}
		return nil, 0, ErrNoPclntab
	}
	if f, err := macho.NewFile(r); err == nil {
		var text uint64
		if s := f.Section("__text"); s != nil {
			text = s.Addr
		}
		if s := f.Section("__gopclntab"); s != nil {
			b, err := readSection(s.Open(), s.Size)
			return b, text, err
		}
		if s := f.Section("__rodata"); s != nil {
			if b, ok := scanPclntab(s.Open(), s.Size); ok {
				return b, text, nil
			}
		}
		return nil, 0, ErrNoPclntab
	}
	if f, err := pe.NewFile(r); err == nil {
		var text uint64
		var base uint64
		switch h := f.OptionalHeader.(type) {
		case *pe.OptionalHeader32:
			base = uint64(h.ImageBase)
		case *pe.OptionalHeader64:
			base = h.ImageBase
		}
		if s := f.Section(".text"); s != nil {
			text = base + uint64(s.VirtualAddress)
		}
		for _, name := range []string{".rdata", ".data"} {
			if s := f.Section(name); s != nil {
				if b, ok := scanPclntab(s.Open(), uint64(s.Size)); ok {
					return b, text, nil
				}
			}
		}
		return nil, 0, ErrNoPclntab
	}
	return nil, 0, fmt.Errorf("%w: not an ELF, Mach-O or PE file", ErrNoPclntab)
}

func readSection(r io.Reader, size uint64) ([]byte, error) {
	if size > maxPclntab {
		return nil, fmt.Errorf("%w: table of %d bytes is over the %d limit", ErrNoPclntab, size, maxPclntab)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPclntab, err)
	}
	return b, nil
}

// pclntab magic numbers, Go 1.2 to today (1.20+ still uses 0xfffffff1).
var pclntabMagics = []uint32{0xfffffff1, 0xfffffff0, 0xfffffffa, 0xfffffffb}

// scanPclntab finds a pclntab header in a section: a magic number, two
// zero bytes, an instruction quantum of 1, 2 or 4 and a pointer size of 4
// or 8. It returns the section from there on.
func scanPclntab(r io.Reader, size uint64) ([]byte, bool) {
	b, err := readSection(r, size)
	if err != nil {
		return nil, false
	}
	for _, magic := range pclntabMagics {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			var m [4]byte
			order.PutUint32(m[:], magic)
			for off := 0; off+8 <= len(b); {
				i := bytes.Index(b[off:], m[:])
				if i < 0 {
					break
				}
				i += off
				if i+8 <= len(b) && b[i+4] == 0 && b[i+5] == 0 &&
					(b[i+6] == 1 || b[i+6] == 2 || b[i+6] == 4) && (b[i+7] == 4 || b[i+7] == 8) {
					return b[i:], true
				}
				off = i + 1
			}
		}
	}
	return nil, false
}

// closure matches the compiler's names for function literals and wrappers
// inside a function: func1, func1.2 (nested), gowrap1, deferwrap1, and
// numbered init functions (init.0).
var closure = regexp.MustCompile(`^(func\d+|gowrap\d+|deferwrap\d+|\d+)$`)

// osvSymbol turns a function table name into the OSV form: pkg is its
// import path, full the whole name normalised, outer the function or
// method it belongs to.
//
//	net/http.(*Server).Serve          → net/http.Server.Serve
//	gopkg.in/yaml%2ev3.Unmarshal      → gopkg.in/yaml.v3.Unmarshal
//	example.com/m.Map[...]            → example.com/m.Map
//	example.com/m.(*List[...]).Push   → example.com/m.List.Push
//	example.com/m.Run.func1.2         → example.com/m.Run.func1.2, outer example.com/m.Run
//	example.com/m.T.M-fm              → example.com/m.T.M
func osvSymbol(name string) (pkg, full, outer string, ok bool) {
	if strings.HasPrefix(name, "type:") || strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "type..") {
		return "", "", "", false
	}
	name = stripTypeArgs(name)
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return "", "", "", false
	}
	dot += slash + 1
	pkg = strings.ReplaceAll(name[:dot], "%2e", ".")
	rest := strings.NewReplacer("(*", "", "(", "", ")", "").Replace(name[dot+1:])
	rest = strings.TrimSuffix(rest, "-fm")
	if pkg == "" || rest == "" {
		return "", "", "", false
	}
	parts := strings.Split(rest, ".")
	o := parts[0]
	if len(parts) > 1 && !closure.MatchString(parts[1]) {
		o += "." + parts[1]
	}
	return pkg, pkg + "." + rest, pkg + "." + o, true
}

// stripTypeArgs drops bracketed type arguments, which may hold dots and
// slashes of their own ("m.F[go.shape.*example.com/x.T]").
func stripTypeArgs(s string) string {
	if !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, c := range s {
		switch {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}
