package secret

import (
	ahocorasick "github.com/BobuSumisu/aho-corasick"
)

// prefilterChunk is how many bytes are lowercased and walked at a time, so
// that the lowercased copy stays in cache and Scan allocates no copy of the
// input.
const prefilterChunk = 32 << 10

// lowerASCII maps A-Z to a-z and every other byte to itself. Keywords are
// lowercased the same way, so non-ASCII keywords match byte for byte.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// prefilter finds every rule's keywords, case-insensitively, in one
// Aho-Corasick pass.
type prefilter struct {
	trie   *ahocorasick.Trie
	owners [][]int // keyword index → indices of the rules owning it
	maxLen int     // longest keyword
}

func newPrefilter(rules []*Rule) *prefilter {
	p := &prefilter{}
	index := map[string]int{}
	b := ahocorasick.NewTrieBuilder()
	for ri, r := range rules {
		for _, kw := range r.Keywords {
			if kw == "" {
				continue
			}
			lw := lowerString(kw)
			i, ok := index[lw]
			if !ok {
				i = len(p.owners)
				index[lw] = i
				p.owners = append(p.owners, nil)
				b.AddString(lw)
				p.maxLen = max(p.maxLen, len(lw))
			}
			if o := p.owners[i]; len(o) == 0 || o[len(o)-1] != ri {
				p.owners[i] = append(o, ri)
			}
		}
	}
	if len(p.owners) > 0 {
		p.trie = b.Build()
	}
	return p
}

func lowerString(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII[c]
	}
	return string(b)
}

// hits calls fn with the start offset and keyword index of every keyword
// occurrence in data, in order of their end offsets. data is lowercased a
// chunk at a time into buf; consecutive chunks overlap by maxLen-1 bytes so
// that keywords spanning a chunk boundary are found exactly once.
func (p *prefilter) hits(data []byte, fn func(pos, kw int)) {
	if p.trie == nil || len(data) == 0 {
		return
	}
	overlap := p.maxLen - 1
	buf := make([]byte, 0, prefilterChunk+overlap)
	for off := 0; off < len(data); off += prefilterChunk {
		start := max(0, off-overlap)
		end := min(len(data), off+prefilterChunk)
		buf = buf[:end-start]
		for i, c := range data[start:end] {
			buf[i] = lowerASCII[c]
		}
		p.trie.Walk(buf, func(e, n, pattern int64) bool {
			abs := start + int(e) // absolute offset of the last byte
			if abs >= off {       // else the previous chunk reported it
				fn(abs-int(n)+1, int(pattern))
			}
			return true
		})
	}
}
